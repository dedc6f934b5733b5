import base64
import io

import pytest
from PIL import Image, ImageDraw

from mesoclinic.core.signatures import PREFIX, SignatureRejected, parse_signature


def png_uri(draw: bool = True, size=(400, 150)) -> str:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    if draw:
        ImageDraw.Draw(image).line(
            [(20, 100), (120, 30), (220, 110), (380, 40)], fill=(20, 20, 40, 255), width=4
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return PREFIX + base64.b64encode(out.getvalue()).decode()


def test_a_drawn_signature_is_accepted_with_its_hash():
    signature = parse_signature(png_uri())
    assert len(signature.sha256) == 64
    assert signature.data_uri.startswith(PREFIX)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "sign in the box"),
        (png_uri(draw=False), "empty"),
        ("data:image/jpeg;base64,AAAA", "could not be read"),
        (PREFIX + "not base64!!", "could not be read"),
        (PREFIX + base64.b64encode(b"GIF89a....").decode(), "could not be read"),
    ],
)
def test_empty_or_broken_signatures_are_refused(value, message):
    with pytest.raises(SignatureRejected, match=message):
        parse_signature(value)
