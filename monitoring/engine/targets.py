"""What the engine is asked to probe and what it answers: plain slotted dataclasses, cheap to build by the thousand.

Nothing here imports aiohttp or Django models, so the scheduler, the storage and the analysers can share these types
without pulling in the network stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Error codes of ProbeResult.error. The empty string means success; everything else is a short stable id that the
# storage can group by, while ``error_detail`` carries the human-readable reason.
ERROR_DNS = "dns"  # the name did not resolve (or public names are not allowed)
ERROR_CONNECT = "connect"  # connection reset/closed before a response, or an address the policy refuses
ERROR_REFUSED = "refused"  # nothing listens on the port
ERROR_TIMEOUT = "timeout"  # a phase ran out of time; the detail names the phase
ERROR_TLS = "tls"  # handshake or certificate failure
ERROR_HTTP = "http"  # the server answered with a status >= 400 (or too many redirects)
ERROR_TOO_LARGE = "too_large"  # the body exceeded Engine.max_body
ERROR_PROTOCOL = "protocol"  # malformed HTTP response or truncated body
ERROR_INVALID_URL = "invalid_url"
ERROR_INTERNAL = "internal"  # a bug in the engine or the analyser; never raised, always reported

PROBE_ERRORS = (
    ERROR_DNS,
    ERROR_CONNECT,
    ERROR_REFUSED,
    ERROR_TIMEOUT,
    ERROR_TLS,
    ERROR_HTTP,
    ERROR_TOO_LARGE,
    ERROR_PROTOCOL,
    ERROR_INVALID_URL,
    ERROR_INTERNAL,
)

# TLSInfo.verify_error values.
TLS_VERIFY_ERRORS = ("", "expired", "self_signed", "untrusted", "hostname_mismatch", "other")

# Cloaking variants a content check may ask for (domain.md §5: spiders, mobile visitors, visitors from a search engine).
VARIANT_SPIDER = "spider"
VARIANT_MOBILE = "mobile"
VARIANT_REFERER = "referer"
VARIANTS = (VARIANT_SPIDER, VARIANT_MOBILE, VARIANT_REFERER)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds per phase. Frozen so it can be shared by every target and used as a cache key."""

    connect: float = 5.0  # TCP connect
    tls: float = 5.0  # TLS handshake
    ttfb: float = 10.0  # request sent -> response headers, and the longest pause between body chunks
    total: float = 20.0  # the whole probe, redirects and body included
    dns: float = 5.0  # name resolution (only public names can be slow; the project's names resolve at once)


DEFAULT_TIMEOUTS = Timeouts()


@dataclass(slots=True)
class ProbeTarget:
    """One check to run. ``timeout=None`` means the engine's default timeouts."""

    check_id: int
    kind: str  # one of monitoring.vocabulary.CHECK_KINDS: http, tls, dns, ipv6, content
    url: str
    host: str = ""  # per-host concurrency key and the name probed by dns/ipv6/tls; taken from the URL when empty
    timeout: Timeouts | None = None
    last_body_hash: bytes | None = None  # the body is returned (and analysed) only when its hash differs from this
    want_body: bool = False
    variants: tuple[str, ...] = ()  # extra fetches for cloaking detection, see VARIANTS
    context: Any = None  # opaque to the engine: copied to the result (e.g. what the analyser needs besides the page)


@dataclass(slots=True)
class TLSInfo:
    valid: bool
    verify_error: str = ""  # one of TLS_VERIFY_ERRORS
    not_before: Any = None  # aware datetime (UTC)
    not_after: Any = None  # aware datetime (UTC)
    days_left: float | None = None  # negative once expired
    subject_cn: str = ""
    sans: list[str] = field(default_factory=list)
    issuer: str = ""  # RFC 4514 string
    protocol: str = ""  # 'TLSv1.3', 'TLSv1.2', ... as negotiated
    cipher: str = ""


@dataclass(slots=True)
class ProbeResult:
    check_id: int
    kind: str
    ok: bool = False
    error: str = ""  # '' or one of PROBE_ERRORS
    error_detail: str = ""
    status: int | None = None
    latency_ms: float | None = None  # request start -> body read (http/content/ipv6), handshake (tls), lookup (dns)
    # Milliseconds per phase where measurable: always 'ttfb' (request start -> headers, connection setup included) and
    # 'total'; 'dns'/'connect' only with Engine(trace_phases=True) and only when a new connection was opened
    # ('connect' then includes the TLS handshake); the tls kind reports 'dns', 'connect' and 'tls' separately.
    phases: dict[str, float] = field(default_factory=dict)
    redirects: list[tuple[int, str]] = field(default_factory=list)  # (status, Location) of each hop, in order
    final_url: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # server, x-powered-by, last-modified, content-type, -length
    body_hash: bytes | None = None  # engine.body_hash (SHA-256, 16 bytes) of the decoded body
    body: bytes | None = None  # only when wanted and changed (or when a cloaking variant differs from it)
    body_changed: bool = False
    tls: TLSInfo | None = None
    dns: list[str] = field(default_factory=list)  # addresses found (dns and ipv6 kinds)
    ipv6: dict[str, Any] | None = None  # ipv6 kind: {'addresses', 'status', 'reachable', 'error'}
    variants: dict[str, bytes] = field(default_factory=dict)  # cloaking variant -> body
    # cloaking variant -> {'status', 'final_url', 'body_hash', 'error'}; a failed variant has no entry in ``variants``
    variant_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    analysis: Any = None  # what Engine(analyse=...) returned for this result
    analysis_error: str = ""  # set when the analyser raised; the probe result itself is kept
    context: Any = None  # the target's context, as given
    started_at: float = 0.0  # wall-clock time (epoch seconds) at which the probe started: schedule lag, last run


_NOT_STORABLE_RE = re.compile("[\0\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` with each character no database can store shown as U+FFFD.

    What a remote end writes (the names in its certificate, its headers and redirects, the bytes of its page that
    become evidence, the words of an error) may hold NUL, which PostgreSQL stores in no text or JSON column, or bytes
    that are not UTF-8 (a legacy server's GBK banner), which aiohttp hands over as lone surrogates that no database
    encodes. Either failed the store of every result in its batch: a hostile site could blind the monitor to itself
    and its neighbours. U+FFFD is what the HTML parser shows for both.
    """
    if text.isascii() and "\0" not in text:
        return text
    return _NOT_STORABLE_RE.sub("\ufffd", text)
