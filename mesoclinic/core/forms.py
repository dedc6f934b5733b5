from django import forms
from django.contrib.auth.forms import PasswordResetForm

from mesoclinic.core import emails, patient_refs
from mesoclinic.core.models import AuditEvent


class ClinicPasswordResetForm(PasswordResetForm):
    """Django's reset flow, with the message sent by our email module."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        reset_url = "{protocol}://{domain}/accounts/reset/{uid}/{token}/".format(**context)
        emails.send_password_reset(to=to_email, user=context["user"], reset_url=reset_url)


class AuditFilterForm(forms.Form):
    user = forms.CharField(required=False, max_length=150, label="User")
    patient = forms.CharField(required=False, max_length=100, label="Patient name")
    action = forms.ChoiceField(
        required=False, choices=[("", "Any action"), *AuditEvent.Action.choices]
    )
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        return cleaned

    def apply(self, events):
        data = self.cleaned_data
        if data.get("user"):
            events = events.filter(actor_label__iexact=data["user"])
        if data.get("patient"):
            events = events.filter(patient_id__in=patient_refs.ids_matching(data["patient"]))
        if data.get("action"):
            events = events.filter(action=data["action"])
        if data.get("date_from"):
            events = events.filter(at__date__gte=data["date_from"])
        if data.get("date_to"):
            events = events.filter(at__date__lte=data["date_to"])
        return events


class AuditExportForm(AuditFilterForm):
    """The CSV export: the same filters, with both ends of the date range required."""

    MAX_DAYS = 366

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("date_from", "date_to"):
            self.fields[name].required = True
            self.fields[name].error_messages["required"] = (
                "Choose both dates of the range to export."
            )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and (end - start).days >= self.MAX_DAYS:
            raise forms.ValidationError(
                f"Export at most {self.MAX_DAYS} days at a time; choose a shorter range."
            )
        return cleaned
