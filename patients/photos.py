"""Checking and cleaning uploaded photos with Pillow.

Only real images are accepted (the content is decoded, whatever the file name
says), the size is capped, orientation is applied, and the image is re-encoded as
JPEG without any metadata, so EXIF location data never reaches storage.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "MPO"}
LONGEST_SIDE = 3000


class PhotoRejected(ValueError):
    pass


@dataclass(frozen=True)
class CleanPhoto:
    content: bytes
    width: int
    height: int
    sha256: str


def clean_photo(data: bytes) -> CleanPhoto:
    if not data:
        raise PhotoRejected("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoRejected(f"The photo is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            if probe.width * probe.height > MAX_PIXELS:
                raise PhotoRejected("The photo has too many pixels.")
            probe.verify()
        if image_format not in ACCEPTED_FORMATS:
            raise PhotoRejected("Only JPEG, PNG or WebP photos are accepted.")
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            image = image.convert("RGB")
            image.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
            out = io.BytesIO()
            # No exif= argument: the new file carries no metadata at all.
            image.save(out, format="JPEG", quality=88, optimize=True)
            width, height = image.size
    except PhotoRejected:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise PhotoRejected("This file is not a photo we can read (JPEG, PNG or WebP).") from exc
    content = out.getvalue()
    return CleanPhoto(content, width, height, hashlib.sha256(content).hexdigest())
