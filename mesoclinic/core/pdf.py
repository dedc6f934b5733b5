"""The one place PDFs are rendered: Django template -> HTML -> WeasyPrint -> bytes.

- Templates live under templates/pdf/ and extend pdf/base.html (print CSS, page
  header and footer).
- Static files (CSS, images, the clinic logo) are read from disk through the
  staticfiles finders or STATIC_ROOT; `data:` URIs (signature images) are decoded
  in memory. Every other URL, including any http(s) address, is refused, so a
  document can never make a network request while it renders.
- Fonts are the system's (DejaVu ships with Debian); one FontConfiguration is
  shared by every render in the process, which keeps memory flat in a worker.

Callers do not touch WeasyPrint: `render_pdf("pdf/consent.html", {...}) -> bytes`.
"""

from __future__ import annotations

import mimetypes
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

# One font configuration per process: building one reads the system font list.
FONT_CONFIG = FontConfiguration()
# WeasyPrint's font configuration is not documented as thread-safe; a worker
# thread pool renders one document at a time.
_render_lock = threading.Lock()
# Relative URLs and {% static %} paths resolve under this base, then map to static files.
BASE_URL = "file:///static/"


class PdfResourceRefused(ValueError):
    """A template asked for something other than a local static file."""


def _static_path(url_path: str) -> Path | None:
    """The file on disk for a /static/... path, or None when there is none."""
    path = unquote(url_path).lstrip("/")
    prefix = settings.STATIC_URL.lstrip("/")
    if prefix and path.startswith(prefix):
        path = path[len(prefix) :]
    if not path or ".." in Path(path).parts:
        return None
    found = finders.find(path)
    if found:
        return Path(found)
    if settings.STATIC_ROOT:
        candidate = Path(settings.STATIC_ROOT) / path
        if candidate.is_file():
            return candidate
    return None


class StaticOnlyFetcher(URLFetcher):
    """Serve `data:` URIs and static files from disk; refuse everything else.

    `fail_on_errors` makes a refused or missing resource stop the render instead of
    producing a PDF with a silent hole in it.
    """

    def __init__(self):
        super().__init__(allowed_protocols=("data", "file"), fail_on_errors=True)

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        parts = urlsplit(url)
        if parts.scheme == "file":
            found = _static_path(parts.path)
            if found is None:
                raise PdfResourceRefused(f"No static file for {url!r}.")
            mime, _ = mimetypes.guess_type(found.name)
            return URLFetcherResponse(
                url,
                found.read_bytes(),
                {"Content-Type": mime or "application/octet-stream"},
            )
        raise PdfResourceRefused(f"PDFs never fetch from the network ({url!r}).")


def base_context() -> dict:
    return {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "clinic_email": settings.CLINIC_EMAIL,
        "clinic_address": settings.CLINIC_ADDRESS,
        "generated_at": timezone.localtime(),
    }


def render_html(template_name: str, context: dict) -> str:
    return render_to_string(template_name, {**base_context(), **context})


def render_pdf(template_name: str, context: dict) -> bytes:
    """Render a Django template to PDF bytes. The template should extend pdf/base.html."""
    html = render_html(template_name, context)
    with _render_lock:
        return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticOnlyFetcher()).write_pdf(
            font_config=FONT_CONFIG
        )
