"""PBKDF2 with HMAC-SM3 (domain.md §10), selectable with EDUSEC_PASSWORD_HASH_SM3=1."""

import base64
import hashlib

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class _SM3:
    """hashlib-style constructor for SM3, as PBKDF2 expects a digest constructor."""

    digest_size = 32
    block_size = 64

    def __new__(cls, data=b""):
        return hashlib.new("sm3", data)


class PBKDF2SM3PasswordHasher(PBKDF2PasswordHasher):
    algorithm = "pbkdf2_sm3"
    digest = _SM3

    def encode(self, password, salt, iterations=None):
        self._check_encode_args(password, salt)
        iterations = iterations or self.iterations
        raw = hashlib.pbkdf2_hmac("sm3", password.encode(), salt.encode(), iterations)
        return f"{self.algorithm}${iterations}${salt}${base64.b64encode(raw).decode('ascii').strip()}"
