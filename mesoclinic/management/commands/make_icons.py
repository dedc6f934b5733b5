"""Draw Mesoclinic's mark and write the favicon and app icons into static/img/icons/.

The mark is a drop in a rounded square of the brand teal (static/css/tokens.css): its
upper half white, its lower half the accent crimson, like a spun PRP tube (plasma over
red cells). One geometry gives the SVG (browsers' favicon, the navbar) and the PNGs
(sizes browsers and iPads ask for), drawn with Pillow at four times the size and
scaled down for smooth edges. The files are committed; run this after changing the
mark (`python manage.py make_icons`), and tests/core/test_icons.py checks they match.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from PIL import Image, ImageDraw

BRAND = "#0b7f75"  # --mc-brand-600
ACCENT = "#b0304a"  # --mc-accent
WHITE = "#ffffff"
# On a 64-unit canvas: the drop's tip, its round bottom (centre and radius).
TIP = (32.0, 9.0)
CENTRE = (32.0, 39.0)
RADIUS = 16.0
CORNER = 14.0
# Bézier control points of the drop's two sides (tip to the widest point).
LEFT = [TIP, (32.0, 9.0), (16.0, 27.0), (16.0, 39.0)]
RIGHT = [TIP, (32.0, 9.0), (48.0, 27.0), (48.0, 39.0)]
PNG_SIZES = {
    "favicon-32.png": 32,
    "favicon-48.png": 48,
    "apple-touch-icon.png": 180,
    "icon-192.png": 192,
    "icon-512.png": 512,
}
MANIFEST = {
    "name": "Mesoclinic",
    "short_name": "Mesoclinic",
    "icons": [
        {"src": "icon-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "icon-512.png", "sizes": "512x512", "type": "image/png"},
        {"src": "mark.svg", "sizes": "any", "type": "image/svg+xml"},
    ],
    "theme_color": BRAND,
    "background_color": "#f4f6f8",
    "display": "standalone",
    "start_url": "/",
}


def svg() -> str:
    (tx, ty), (_, c1y), (lx, c2y), (_, by) = LEFT
    rx = RIGHT[2][0]
    cx, cy = CENTRE
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
        f'<rect width="64" height="64" rx="{CORNER:g}" fill="{BRAND}"/>'
        f'<path d="M{tx:g} {ty:g}C{tx:g} {c1y:g} {lx:g} {c2y:g} {lx:g} {by:g}'
        f"A{RADIUS:g} {RADIUS:g} 0 0 0 {rx:g} {by:g}"
        f'C{rx:g} {c2y:g} {tx:g} {c1y:g} {tx:g} {ty:g}Z" fill="{WHITE}"/>'
        f'<path d="M{lx:g} {cy:g}A{RADIUS:g} {RADIUS:g} 0 0 0 {rx:g} {cy:g}Z" fill="{ACCENT}"/>'
        "</svg>\n"
    )


def _bezier(points, steps: int = 48) -> list[tuple[float, float]]:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points
    out = []
    for i in range(steps + 1):
        t = i / steps
        u = 1 - t
        out.append(
            (
                u**3 * x0 + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t**3 * x3,
                u**3 * y0 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t**3 * y3,
            )
        )
    return out


def png(size: int) -> Image.Image:
    scale = size * 4 / 64
    big = Image.new("RGBA", (size * 4, size * 4), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    draw.rounded_rectangle((0, 0, size * 4 - 1, size * 4 - 1), radius=CORNER * scale, fill=BRAND)
    cx, cy = CENTRE
    box = [
        (cx - RADIUS) * scale,
        (cy - RADIUS) * scale,
        (cx + RADIUS) * scale,
        (cy + RADIUS) * scale,
    ]
    sides = _bezier(LEFT) + list(reversed(_bezier(RIGHT)))
    draw.polygon([(x * scale, y * scale) for x, y in sides], fill=WHITE)
    draw.pieslice(box, 180, 360, fill=WHITE)
    draw.pieslice(box, 0, 180, fill=ACCENT)
    return big.resize((size, size), Image.Resampling.LANCZOS)


def write_icons(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "mark.svg"]
    written[0].write_text(svg())
    for name, size in PNG_SIZES.items():
        png(size).save(folder / name, optimize=True)
        written.append(folder / name)
    manifest = folder / "site.webmanifest"
    manifest.write_text(json.dumps(MANIFEST, indent=2) + "\n")
    written.append(manifest)
    return written


class Command(BaseCommand):
    help = "Draw the favicon and app icons into static/img/icons/."

    def add_arguments(self, parser):
        parser.add_argument(
            "--into", default=str(Path(settings.BASE_DIR) / "static" / "img" / "icons")
        )

    def handle(self, *args, into, **options):
        for path in write_icons(Path(into)):
            self.stdout.write(str(path))
