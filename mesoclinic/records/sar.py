"""Building a subject-access ZIP: what goes in it and under which names."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import UTC

from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.text import slugify

from billing import documents as billing_documents
from billing.models import Invoice
from mesoclinic.core import message_kinds
from mesoclinic.core.pdf import render_pdf
from mesoclinic.records import fhir, selectors


def _read(name: str) -> bytes | None:
    """A stored file's bytes, or None if it is missing (reported in the README)."""
    try:
        with default_storage.open(name, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def build_zip(patient) -> tuple[bytes, int, list[str]]:
    """(zip bytes, number of files, names of stored files that were missing)."""
    record = selectors.patient_record(patient)
    files: list[tuple[str, bytes]] = []
    file_urls: dict[str, str] = {}
    missing: list[str] = []
    used: set[str] = set()

    def add(path: str, content: bytes) -> str:
        stem, dot, ext = path.rpartition(".")
        candidate, n = path, 2
        while candidate in used:
            candidate, n = f"{stem}-{n}{dot}{ext}", n + 1
        used.add(candidate)
        files.append((candidate, content))
        return candidate

    for consent in record.consents:
        if not consent.pdf:
            continue
        content = _read(consent.pdf.name)
        if content is None:
            missing.append(f"signed consent {consent.protocol.name}")
            continue
        path = add(
            f"documents/consents/{consent.signed_at:%Y-%m-%d}-{slugify(consent.protocol.name)}.pdf",
            content,
        )
        file_urls[fhir.document_id("consent", consent)] = path
    for document in record.documents:
        content = _read(document.file.name)
        if content is None:
            missing.append(
                f"{document.get_kind_display()} of {document.appointment.starts_at:%Y-%m-%d}"
            )
            continue
        day = timezone.localtime(document.appointment.starts_at)
        path = add(f"documents/sessions/{day:%Y-%m-%d}-{document.kind}.pdf", content)
        file_urls[fhir.document_id(document.kind, document)] = path
    quotes = list(selectors.patient_quotes(patient).prefetch_related("lines"))
    for quote in quotes:
        add(f"documents/quotes/{quote.number}.pdf", billing_documents.quote_pdf(quote))
    issued = [i for i in record.invoices if i.status == Invoice.Status.ISSUED]
    for invoice in issued:
        add(f"documents/invoices/{invoice.number}.pdf", billing_documents.invoice_pdf(invoice))
    photos = list(selectors.patient_photos(patient))
    for photo in photos:
        content = _read(photo.image.name)
        if content is None:
            missing.append(f"photo of {photo.taken_on:%Y-%m-%d}")
            continue
        add(f"photos/{photo.taken_on:%Y-%m-%d}-{photo.kind}-{slugify(photo.area)}.jpg", content)
    messages = list(selectors.patient_messages(patient))
    ctx = selectors.fhir_context()
    bundle = fhir.bundle(selectors.record_resources(record, ctx, file_urls=file_urls), ctx)
    add("fhir/bundle.json", json.dumps(bundle, ensure_ascii=False, indent=1).encode())
    add("messages.csv", _messages_csv(messages))
    summary = render_pdf(
        "pdf/records/summary.html",
        {
            "patient": patient,
            "record": record,
            "quotes": quotes,
            "photos": photos,
            "messages": messages,
            "kind_labels": {k.code: k.label for k in message_kinds.KINDS},
            "files": [name for name, _ in files],
            "missing": missing,
            "currency": ctx.currency,
        },
    )
    add("summary.pdf", summary)
    add("README.txt", _readme(patient, [name for name, _ in files], missing).encode())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            # PDFs and JPEGs are compressed already.
            kind = zipfile.ZIP_STORED if name.endswith((".pdf", ".jpg")) else zipfile.ZIP_DEFLATED
            archive.writestr(name, content, compress_type=kind)
    return buffer.getvalue(), len(files), missing


def _messages_csv(messages) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["due (UTC)", "sent (UTC)", "kind", "to", "subject", "state"])
    labels = {k.code: k.label for k in message_kinds.KINDS}
    for m in messages:
        writer.writerow(
            [
                m.due_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
                m.sent_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if m.sent_at else "",
                labels.get(m.kind, m.kind),
                m.recipient,
                m.email_subject,
                m.get_state_display(),
            ]
        )
    return out.getvalue().encode()


def _readme(patient, names: list[str], missing: list[str]) -> str:
    lines = [
        f"Everything we hold about {patient.full_name}, "
        f"exported {timezone.localtime():%d %B %Y %H:%M}.",
        "",
        "summary.pdf         a readable summary of the record",
        "fhir/bundle.json    the record as an HL7 FHIR R4 (4.0.1) Bundle, for other systems",
        "documents/          signed consents, charts, aftercare sheets, quotes, invoices",
        "photos/             clinical photographs",
        "messages.csv        every message we sent or planned to send you",
        "",
        "Files:",
        *[f"  {name}" for name in names],
    ]
    if missing:
        lines += [
            "",
            "Stored files that could not be read (ask the clinic):",
            *[f"  {m}" for m in missing],
        ]
    return "\n".join(lines) + "\n"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
