"""Certificates of the farm: one CA per state directory and a certificate per site and TLS variant.

EC P-256 keys throughout: generating and signing one takes well under a millisecond, which is what makes lazy
per-site certificates for 5,000 sites practical. The standard ``ssl`` module can only load a certificate chain from a
file, so each site's key and certificate pass through a short-lived file in a private temporary directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import ssl
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
WRONG_HOST_NAME = "other-site.example"
RENEW_AFTER = 86_400.0  # seconds

# (not valid before, not valid after) relative to now, per TLS variant; self_signed is "valid" but signed by itself.
VALIDITY = {
    "valid": (dt.timedelta(days=-1), dt.timedelta(days=90)),
    "expiring": (dt.timedelta(days=-85), dt.timedelta(days=5)),
    "expired": (dt.timedelta(days=-100), dt.timedelta(days=-10)),
    "self_signed": (dt.timedelta(days=-1), dt.timedelta(days=90)),
    "wrong_host": (dt.timedelta(days=-1), dt.timedelta(days=90)),
    "null_prefix": (dt.timedelta(days=-1), dt.timedelta(days=90)),
}


def _name(common_name: str, organisation: str = "EduSec simulated school farm") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class CertificateAuthority:
    """The farm CA: loaded from ``<state dir>/ca.pem`` and ``ca-key.pem``, or created there once (10 years)."""

    def __init__(self, state_dir: str | os.PathLike):
        self.state_dir = Path(state_dir)
        self.cert_path = self.state_dir / CA_FILE
        self.key_path = self.state_dir / CA_KEY_FILE
        if self.cert_path.exists() and self.key_path.exists():
            self.cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
            self.key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
            if self.cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=120):
                return
        self._create()

    def _create(self) -> None:
        now = dt.datetime.now(dt.UTC)
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = _name("EduSec SimFarm Root CA")
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # The key is written first and private; the certificate is what others read.
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_pem_key(self.key))
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, host: str, variant: str, *, extra_names: tuple[str, ...] = ()) -> tuple[bytes, bytes]:
        """(certificate PEM, key PEM) for ``host`` in one TLS variant."""
        if variant not in VALIDITY:
            raise ValueError(f"no certificate for TLS variant {variant!r}")
        now = dt.datetime.now(dt.UTC)
        before, after = VALIDITY[variant]
        if variant == "wrong_host":
            name = WRONG_HOST_NAME
        elif variant == "null_prefix":
            # The null-prefix trick: a name that reads as the site up to a NUL, issued for another domain. OpenSSL's
            # host-name check refuses it; the monitor must still store and show it (NUL as U+FFFD).
            name = f"{host}\0.{WRONG_HOST_NAME}"
        else:
            name = host
        key = ec.generate_private_key(ec.SECP256R1())
        subject = _name(name, "EduSec simulated school site")
        self_signed = variant == "self_signed"
        alt_names: list[x509.GeneralName] = [x509.DNSName(name)]
        for extra in extra_names:
            try:
                alt_names.append(x509.IPAddress(ipaddress.ip_address(extra)))
            except ValueError:
                alt_names.append(x509.DNSName(extra))
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if self_signed else self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + before)
            .not_valid_after(now + after)
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False
            )
        cert = builder.sign(key if self_signed else self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


class ContextCache:
    """Server ``SSLContext`` per (host, TLS variant), made on first use and kept for the life of the farm."""

    def __init__(self, ca: CertificateAuthority):
        self.ca = ca
        self._contexts: dict[tuple[str, str], tuple[ssl.SSLContext, float]] = {}
        self._tmp: Path | None = None

    def get(self, host: str, variant: str) -> ssl.SSLContext:
        key = (host, variant)
        entry = self._contexts.get(key)
        # Renewed daily, so that "expires in 5 days" stays true on a farm that runs for weeks.
        if entry is None or time.monotonic() - entry[1] > RENEW_AFTER:
            entry = self._contexts[key] = (self._make(*self.ca.issue(host, variant)), time.monotonic())
        return entry[0]

    def default(self, names: tuple[str, ...]) -> ssl.SSLContext:
        """The listener's own context, for handshakes without a site name (clients that connect by address)."""
        cert, key = self.ca.issue(names[0], "valid", extra_names=names[1:])
        return self._make(cert, key)

    def forget(self, host: str) -> None:
        for key in [k for k in self._contexts if k[0] == host]:
            del self._contexts[key]

    def _make(self, cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_alpn_protocols(["http/1.1"])
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="simfarm-certs-"))
        fd, path = tempfile.mkstemp(dir=self._tmp, suffix=".pem")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(key_pem + cert_pem)
            context.load_cert_chain(path)
        finally:
            os.unlink(path)
        return context

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        self._contexts.clear()
