"""国产密码 primitives used by the platform: SM3 (hash, HMAC) through OpenSSL's hashlib, SM4 through ``cryptography``.

* ``sm3_hex`` chains the audit log.
* ``EncryptedCharField`` stores sensitive personal fields (phone numbers, ID numbers) as SM4-GCM ciphertext with a
  random nonce, so equal plaintexts never give equal ciphertexts, and tampering is detected on read.
"""

import base64
import hashlib
import hmac
import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

_PREFIX = "sm4gcm$"


def sm3(data: bytes) -> bytes:
    try:
        return hashlib.new("sm3", data).digest()
    except ValueError as exc:  # OpenSSL built without SM3
        raise ImproperlyConfigured("OpenSSL on this machine does not provide SM3") from exc


def sm3_hex(data: bytes) -> str:
    return sm3(data).hex()


def hmac_sm3_hex(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, "sm3").hexdigest()


def _field_key() -> bytes:
    key = bytes.fromhex(settings.FIELD_ENCRYPTION_KEY)
    if len(key) != 16:
        raise ImproperlyConfigured("EDUSEC_FIELD_KEY must be 32 hexadecimal digits (a 128-bit SM4 key)")
    return key


def sm4_encrypt(plaintext: str) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    nonce = os.urandom(12)
    encryptor = Cipher(algorithms.SM4(_field_key()), modes.GCM(nonce)).encryptor()
    body = encryptor.update(plaintext.encode("utf-8")) + encryptor.finalize()
    return _PREFIX + base64.b64encode(nonce + encryptor.tag + body).decode("ascii")


def sm4_decrypt(token: str) -> str:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    raw = base64.b64decode(token[len(_PREFIX) :])
    nonce, tag, body = raw[:12], raw[12:28], raw[28:]
    decryptor = Cipher(algorithms.SM4(_field_key()), modes.GCM(nonce, tag)).decryptor()
    return (decryptor.update(body) + decryptor.finalize()).decode("utf-8")


def mask_value(value: str, keep_start: int = 3, keep_end: int = 4) -> str:
    """13812345678 → 138****5678: keep the ends, hide the middle (fully hidden when too short)."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


class EncryptedCharField(models.TextField):
    """A text field stored encrypted with SM4. Python code sees plaintext; the database sees ciphertext.

    The field is ``sensitive``: lists, exports and audit diffs show it masked (``mask_value``).
    """

    sensitive = True

    def __init__(self, *args, max_plain_length=None, **kwargs):
        self.max_plain_length = max_plain_length
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.max_plain_length is not None:
            kwargs["max_plain_length"] = self.max_plain_length
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        if value.startswith(_PREFIX):
            return sm4_decrypt(value)
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return sm4_encrypt(value)

    def formfield(self, **kwargs):
        from django import forms

        defaults = {"form_class": forms.CharField, "max_length": self.max_plain_length}
        defaults.update(kwargs)
        return super(models.TextField, self).formfield(**defaults)
