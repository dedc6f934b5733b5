import pytest

from mesoclinic.core.phones import (
    InvalidPhoneNumber,
    display_phone,
    looks_like_phone,
    normalize_phone,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("07911 123456", "GB", "+447911123456"),
        ("+44 7911 123456", "GB", "+447911123456"),
        ("(0)7911-123-456", "GB", "+447911123456"),
        ("0044 7911 123456", "GB", "+447911123456"),
        ("+33 6 12 34 56 78", "GB", "+33612345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("", "GB", ""),
        ("   ", "GB", ""),
    ],
)
def test_normalises_to_e164(raw, region, expected):
    assert normalize_phone(raw, default_region=region) == expected


@pytest.mark.parametrize("raw", ["12", "not a phone", "07911 12", "+44 1234", "079111234567890"])
def test_rejects_malformed_numbers(raw):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(raw, default_region="GB")


def test_display_and_detection():
    assert display_phone("+447911123456") == "+44 7911 123456"
    assert looks_like_phone("07911 123456")
    assert not looks_like_phone("Smith")
    assert not looks_like_phone("12/03/1984x")
