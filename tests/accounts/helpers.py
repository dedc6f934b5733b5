"""Codes computed from an authenticator's secret, as the phone app would."""

from base64 import b32encode

import pyotp
from django_otp.plugins.otp_totp.models import TOTPDevice


def totp_for(device: TOTPDevice, at=None) -> str:
    totp = pyotp.TOTP(
        b32encode(device.bin_key).decode(), interval=device.step, digits=device.digits
    )
    return totp.at(at) if at is not None else totp.now()


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
