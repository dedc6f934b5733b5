"""The one PDF renderer: templates to bytes, static files from disk, never the network."""

import io

import pytest
from pypdf import PdfReader

from mesoclinic.core import pdf


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_render_pdf_returns_a_pdf_with_the_clinic_header(settings):
    data = pdf.render_pdf("pdf/base.html", {})
    assert data.startswith(b"%PDF-")
    assert settings.CLINIC_NAME in text_of(data)


def test_the_fetcher_reads_static_files_from_disk():
    response = pdf.StaticOnlyFetcher().fetch("file:///static/css/app.css")
    assert response.read()
    assert response.content_type == "text/css"


def test_data_uris_are_decoded_in_memory():
    response = pdf.StaticOnlyFetcher().fetch("data:text/plain;base64,aGVsbG8=")
    assert response.read() == b"hello"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/logo.png",
        "http://127.0.0.1:8000/static/css/app.css",
        "ftp://example.com/x.css",
        "file:///etc/passwd",
        "file:///static/../../etc/passwd",
    ],
)
def test_the_fetcher_refuses_the_network_and_files_outside_static(url):
    with pytest.raises(pdf.PdfResourceRefused):
        pdf.StaticOnlyFetcher().fetch(url)


def test_one_font_configuration_is_shared():
    from weasyprint.text.fonts import FontConfiguration

    assert isinstance(pdf.FONT_CONFIG, FontConfiguration)
