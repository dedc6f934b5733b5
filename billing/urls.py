from django.urls import path

from billing import price_views, views

app_name = "billing"

urlpatterns = [
    path("quotes/", views.quote_list, name="quotes"),
    path("quotes/new/<uuid:patient_id>/", views.quote_new, name="quote_new"),
    path("quotes/<uuid:quote_id>/", views.quote_detail, name="quote_detail"),
    path("quotes/<uuid:quote_id>/pdf/", views.quote_pdf, name="quote_pdf"),
    path("quotes/<uuid:quote_id>/email/", views.quote_email, name="quote_email"),
    path("quotes/<uuid:quote_id>/approve/", views.quote_approve, name="quote_approve"),
    path("quotes/<uuid:quote_id>/decline/", views.quote_decline, name="quote_decline"),
    path("quotes/<uuid:quote_id>/accept/", views.quote_accept, name="quote_accept"),
    path("purchases/<uuid:purchase_id>/", views.purchase_detail, name="purchase_detail"),
    path("purchases/<uuid:purchase_id>/cancel/", views.purchase_cancel, name="purchase_cancel"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/<uuid:invoice_id>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<uuid:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<uuid:invoice_id>/pay/", views.payment_create, name="payment_create"),
    path("invoices/<uuid:invoice_id>/refund/", views.refund_create, name="refund_create"),
    path("invoices/<uuid:invoice_id>/credit/", views.credit_note_create, name="credit_note_create"),
    path("prices/", views.price_lists, name="price_lists"),
    path("prices/lists/new/", price_views.price_list_create, name="price_list_create"),
    path(
        "prices/lists/<uuid:price_list_id>/edit/",
        price_views.price_list_edit,
        name="price_list_edit",
    ),
    path("prices/packages/new/", price_views.package_create, name="package_create"),
    path("prices/packages/<uuid:package_id>/edit/", price_views.package_edit, name="package_edit"),
    path("reports/", views.report_page, name="reports"),
    path("reports/csv/", views.report_csv, name="report_csv"),
]
