"""What a probe result means: pure functions from an engine result to detections and a state. No ORM.

The severity table (documented in docs/monitoring.md):

=====================  =========================================================  ==========
detection              when                                                       severity
=====================  =========================================================  ==========
down                   no answer: DNS, refused, reset, timeout, TLS handshake      high
http_error             HTTP status ≥ 400 (5xx high, 4xx medium)                    high/medium
slow                   answered, but slower than ``SLOW_MS``                       low
tls_invalid            expired, self-signed, untrusted chain or wrong host name    high
tls_expiring           valid, expires within ``EXPIRING_DAYS`` (7 days: high,      medium/high/
                       2 days: critical)                                          critical
tls_weak_protocol      negotiated SSLv3, TLS 1.0 or TLS 1.1                        medium
dns_failure            the name does not resolve                                   high
ipv6_missing           no AAAA record, or the site does not answer over IPv6       low
stale_site             the page unchanged for ``EDUSEC_MONITOR_STALE_DAYS`` days    low
content detections     as the analysers grade them (analysis/)                     their own
=====================  =========================================================  ==========

Availability-type detections (down, http_error, dns_failure) only count once the check has failed
``grace_failures`` times in a row: one lost probe is not an outage.
"""

from __future__ import annotations

from . import vocabulary as v
from .analysis.results import Detection
from .engine.targets import ERROR_HTTP, ProbeResult

SLOW_MS = 5000
EXPIRING_DAYS = 30
EXPIRING_HIGH_DAYS = 7
# The last reminder: the check runs daily, so it comes one to two days before the certificate expires (with one day it
# could come an hour before).
EXPIRING_CRITICAL_DAYS = 2
WEAK_PROTOCOLS = frozenset({"SSLv3", "TLSv1", "TLSv1.1"})
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
# Detections that wait for ``grace_failures`` consecutive failures.
NEEDS_GRACE = frozenset({v.DOWN, v.HTTP_ERROR, v.DNS_FAILURE})
# Which detections each kind of check can raise (a check's open findings are those kinds on its site).
KINDS_OF_CHECK = {
    v.HTTP: (v.DOWN, v.HTTP_ERROR, v.SLOW),
    v.TLS: (v.TLS_INVALID, v.TLS_EXPIRING, v.TLS_WEAK_PROTOCOL),
    v.DNS: (v.DNS_FAILURE,),
    v.IPV6: (v.IPV6_MISSING,),
    v.CONTENT: (
        v.DOWN,
        v.DEFACEMENT,
        v.HIDDEN_LINKS,
        v.MALICIOUS_SCRIPT,
        v.HARMFUL_KEYWORDS,
        v.PERSONAL_INFO,
        v.MISSING_REGISTRATION,
        v.CLOAKING,
        v.STALE_SITE,
    ),
}
TLS_REASONS = {
    "expired": "the certificate has expired",
    "self_signed": "the certificate is self-signed",
    "untrusted": "the certificate chain is not trusted",
    "hostname_mismatch": "the certificate is for another host name",
    "other": "the certificate could not be verified",
}


def probe_detections(result: ProbeResult) -> list[Detection]:
    """Detections that follow from the probe itself (availability, TLS, DNS, IPv6), before any grace period."""
    kind = result.kind
    found: list[Detection] = []
    if kind in (v.HTTP, v.CONTENT):
        if result.error == ERROR_HTTP and result.status:
            severity = "high" if result.status >= 500 else "medium"
            found.append(Detection(v.HTTP_ERROR, severity, f"HTTP {result.status}", evidence=_http_evidence(result)))
        elif result.error:
            found.append(Detection(v.DOWN, "high", _error_text(result), evidence=_http_evidence(result)))
        elif kind == v.HTTP and result.latency_ms is not None and result.latency_ms > SLOW_MS:
            found.append(
                Detection(v.SLOW, "low", f"answered in {result.latency_ms:.0f} ms", evidence=_http_evidence(result))
            )
    elif kind == v.TLS:
        tls = result.tls
        if tls is None:
            found.append(Detection(v.TLS_INVALID, "high", _error_text(result), evidence={"error": result.error_detail}))
        else:
            evidence = _tls_evidence(tls)
            if not tls.valid:
                reason = TLS_REASONS.get(tls.verify_error, TLS_REASONS["other"])
                found.append(Detection(v.TLS_INVALID, "high", reason, evidence=evidence))
            elif tls.days_left is not None and tls.days_left < EXPIRING_DAYS:
                if tls.days_left < EXPIRING_CRITICAL_DAYS:
                    severity = "critical"
                elif tls.days_left < EXPIRING_HIGH_DAYS:
                    severity = "high"
                else:
                    severity = "medium"
                found.append(
                    Detection(
                        v.TLS_EXPIRING, severity, f"expires in {max(tls.days_left, 0):.0f} days", evidence=evidence
                    )
                )
            if tls.protocol in WEAK_PROTOCOLS:
                found.append(Detection(v.TLS_WEAK_PROTOCOL, "medium", f"negotiated {tls.protocol}", evidence=evidence))
    elif kind == v.DNS:
        if not result.ok:
            found.append(Detection(v.DNS_FAILURE, "high", _error_text(result), evidence={"error": result.error_detail}))
    elif kind == v.IPV6:
        if not result.ok:
            found.append(Detection(v.IPV6_MISSING, "low", _error_text(result), evidence=dict(result.ipv6 or {})))
    return found


def unchanged_for(changed_at, now, days: int) -> Detection | None:
    """A stale-site (僵尸) detection when the page has not changed for ``days`` days (0 turns the rule off)."""
    if not days or changed_at is None or (now - changed_at).days < days:
        return None
    age = (now - changed_at).days
    return Detection(
        v.STALE_SITE,
        "low",
        f"content unchanged for {age} days",
        evidence={"unchanged_days": age, "since": changed_at.isoformat()},
    )


def after_grace(found: list[Detection], failures: int, grace_failures: int) -> list[Detection]:
    """Drop availability-type detections while the check has failed fewer than ``grace_failures`` times in a row."""
    if failures >= max(grace_failures, 1):
        return found
    return [item for item in found if item.kind not in NEEDS_GRACE]


def state_of(detections: list[dict], *, failing: bool) -> str:
    """The check's state: critical for a high or critical detection, warning for any other, or for a failure still
    inside its grace period; ok otherwise."""
    worst = max((SEVERITY_RANK.get(d["severity"], 0) for d in detections), default=-1)
    if worst >= SEVERITY_RANK["high"]:
        return "critical"
    if worst >= 0 or failing:
        return "warning"
    return "ok"


def _error_text(result: ProbeResult) -> str:
    detail = result.error_detail or result.error or "no answer"
    return detail[:290]


def _http_evidence(result: ProbeResult) -> dict:
    return {
        "status": result.status,
        "error": result.error,
        "detail": result.error_detail,
        "latency_ms": result.latency_ms,
        "redirects": [list(hop) for hop in result.redirects],
        "final_url": result.final_url,
        "headers": dict(result.headers),
    }


def _tls_evidence(tls) -> dict:
    return {
        "verify_error": tls.verify_error,
        "not_before": tls.not_before.isoformat() if tls.not_before else None,
        "not_after": tls.not_after.isoformat() if tls.not_after else None,
        "days_left": round(tls.days_left, 1) if tls.days_left is not None else None,
        "subject_cn": tls.subject_cn,
        "sans": list(tls.sans),
        "issuer": tls.issuer,
        "protocol": tls.protocol,
        "cipher": tls.cipher,
    }
