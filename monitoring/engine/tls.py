"""TLS inspection for the tls check kind: handshake, certificate facts, and why verification failed.

The handshake runs on asyncio streams (TCP connect, then ``start_tls``) so that the connect and handshake phases get
their own timeouts and timings. When verification fails, the error is classified from OpenSSL's verify code and the
engine connects once more without verification, so the certificate's dates and names are still reported.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
import warnings

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from .targets import TLSInfo, storable

# OpenSSL X509_V_ERR_* codes (stable since OpenSSL 1.0) -> TLSInfo.verify_error.
_VERIFY_CODES = {
    10: "expired",  # CERT_HAS_EXPIRED
    18: "self_signed",  # DEPTH_ZERO_SELF_SIGNED_CERT
    2: "untrusted",  # UNABLE_TO_GET_ISSUER_CERT
    19: "untrusted",  # SELF_SIGNED_CERT_IN_CHAIN: a private root we do not trust
    20: "untrusted",  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "untrusted",  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
    27: "untrusted",  # CERT_UNTRUSTED
    62: "hostname_mismatch",  # HOSTNAME_MISMATCH
    64: "hostname_mismatch",  # IP_ADDRESS_MISMATCH
}


def client_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The verifying context of the engine: the system trust store plus an optional extra CA (the farm's CA).

    ``create_default_context(cafile=...)`` would load *only* that file, hence the two steps. Loading the system store
    reads files: call this off the event loop.
    """
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


def inspection_context() -> ssl.SSLContext:
    """No verification and every protocol version OpenSSL still knows: only used to read a certificate we already
    know is not trusted, or the protocol of a server too old for the verifying context (weak protocol detection)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():  # deprecated for connecting, which is exactly why we want to see it
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):  # a build without old protocols: inspect what it can
        pass
    return ctx


def classify_verify_error(exc: ssl.SSLCertVerificationError) -> str:
    code = getattr(exc, "verify_code", None)
    if code in _VERIFY_CODES:
        return _VERIFY_CODES[code]
    message = (getattr(exc, "verify_message", "") or str(exc)).lower()
    if "expired" in message:
        return "expired"
    if "self-signed" in message or "self signed" in message:
        return "self_signed"
    if "hostname" in message or "ip address mismatch" in message:
        return "hostname_mismatch"
    if "issuer" in message or "unable to get local" in message:
        return "untrusted"
    return "other"


def certificate_info(der: bytes, info: TLSInfo, now: dt.datetime | None = None) -> TLSInfo:
    """Fill the certificate fields of ``info`` from the DER certificate."""
    cert = x509.load_der_x509_certificate(der)
    now = now or dt.datetime.now(dt.UTC)
    info.not_before = cert.not_valid_before_utc
    info.not_after = cert.not_valid_after_utc
    info.days_left = (info.not_after - now).total_seconds() / 86400
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    # A name may hold NUL (the null-prefix trick: "school.example\0.attacker.example"); it is shown, not stored raw.
    info.subject_cn = storable(str(cns[0].value)) if cns else ""
    info.issuer = cert.issuer.rfc4514_string()  # escapes NUL as \00
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        info.sans = []
    else:
        info.sans = [storable(str(n)) for n in san.get_values_for_type(x509.DNSName)] + [
            str(ip) for ip in san.get_values_for_type(x509.IPAddress)
        ]
    return info


class HandshakeTimeout(Exception):
    def __init__(self, phase: str):
        super().__init__(phase)
        self.phase = phase


async def handshake(
    address: str, port: int, server_name: str, ctx: ssl.SSLContext, connect_timeout: float, tls_timeout: float
) -> tuple[bytes | None, str, str, dict[str, float]]:
    """Connect and shake hands; return (DER certificate, protocol, cipher, phase timings in ms).

    Raises HandshakeTimeout(phase), ssl.SSLCertVerificationError, ssl.SSLError or OSError.
    """
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(connect_timeout):
            _, writer = await asyncio.open_connection(address, port)
    except TimeoutError:
        raise HandshakeTimeout("connect") from None
    t1 = time.perf_counter()
    try:
        async with asyncio.timeout(tls_timeout):
            await writer.start_tls(ctx, server_hostname=server_name)
    except TimeoutError:
        writer.transport.abort()
        raise HandshakeTimeout("tls") from None
    except BaseException:
        writer.transport.abort()  # a failed handshake leaves nothing to close politely
        raise
    t2 = time.perf_counter()
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True)
        cipher = ssl_object.cipher()
        protocol = ssl_object.version() or ""
    finally:
        # A polite close sends close_notify; never wait long for the peer's answer.
        writer.close()
        try:
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        except Exception:  # the peer did not answer the close
            writer.transport.abort()
    return der, protocol, cipher[0] if cipher else "", {"connect": (t1 - t0) * 1000, "tls": (t2 - t1) * 1000}
