"""The favicon and app icons: drawn by `manage.py make_icons`, committed, linked by every page."""

import io
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from PIL import Image, ImageChops

from mesoclinic.management.commands.make_icons import PNG_SIZES

ICONS = Path(settings.BASE_DIR) / "static" / "img" / "icons"


def test_committed_icons_are_what_the_command_draws(tmp_path):
    call_command("make_icons", into=str(tmp_path), stdout=io.StringIO())
    assert (tmp_path / "mark.svg").read_text() == (ICONS / "mark.svg").read_text()
    assert (tmp_path / "site.webmanifest").read_text() == (ICONS / "site.webmanifest").read_text()
    for name, size in PNG_SIZES.items():
        committed = Image.open(ICONS / name).convert("RGBA")
        drawn = Image.open(tmp_path / name).convert("RGBA")
        assert committed.size == drawn.size == (size, size), name
        # Pixel for pixel, allowing a resampling difference of one step between Pillow builds.
        bands = ImageChops.difference(committed, drawn).getextrema()
        assert max(high for _, high in bands) <= 2, name


def test_every_page_links_the_favicon_and_touch_icon(client):
    page = client.get("/accounts/login/").content.decode()
    for name in ("mark.svg", "favicon-32.png", "apple-touch-icon.png", "site.webmanifest"):
        assert f"img/icons/{name}" in page
        assert (ICONS / name).exists()
