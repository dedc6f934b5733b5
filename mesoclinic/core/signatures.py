"""Hand-drawn signatures arrive as PNG data URIs from the signature pad."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

PREFIX = "data:image/png;base64,"
MAX_BYTES = 512 * 1024
# A real signature covers more than a dot: at least this many drawn pixels.
MIN_INK_PIXELS = 150


class SignatureRejected(ValueError):
    pass


@dataclass(frozen=True)
class Signature:
    png: bytes
    sha256: str

    @property
    def data_uri(self) -> str:
        return PREFIX + base64.b64encode(self.png).decode("ascii")


def parse_signature(data_uri: str) -> Signature:
    data_uri = (data_uri or "").strip()
    if not data_uri:
        raise SignatureRejected("Please sign in the box before saving.")
    if not data_uri.startswith(PREFIX):
        raise SignatureRejected("The signature could not be read; please sign again.")
    try:
        png = base64.b64decode(data_uri[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureRejected("The signature could not be read; please sign again.") from exc
    if len(png) > MAX_BYTES:
        raise SignatureRejected("The signature image is too large.")
    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG":
                raise SignatureRejected("The signature could not be read; please sign again.")
            alpha = image.convert("RGBA").getchannel("A")
            ink = sum(alpha.histogram()[16:])
    except (UnidentifiedImageError, OSError) as exc:
        raise SignatureRejected("The signature could not be read; please sign again.") from exc
    if ink < MIN_INK_PIXELS:
        raise SignatureRejected("The signature box is empty; please sign before saving.")
    return Signature(png, hashlib.sha256(png).hexdigest())
