"""How each external channel is spoken to: the message as each vendor wants it, its signature, and how its answer is
read. The functions that build payloads and signatures are pure (no database, no network) so that the tests and the
local receiver (``core.channels.receiver``) check them exactly.

Vendors (formats as documented by each vendor for its group robot / custom bot):

* WeCom (企业微信) group robot: ``POST <webhook URL with ?key=…>`` with ``{"msgtype": "markdown", "markdown":
  {"content": …}}`` or ``{"msgtype": "text", "text": {"content": …}}``; no signature (the key in the URL is the
  credential). Answer ``{"errcode": 0, "errmsg": "ok"}``.
* DingTalk (钉钉) custom robot, "加签" security: ``timestamp`` (milliseconds) and ``sign`` =
  urlencode(base64(HMAC-SHA256(key=secret, message=timestamp + "\\n" + secret))) added to the query string. Body
  ``{"msgtype": "markdown", "markdown": {"title": …, "text": …}}`` or ``{"msgtype": "text", "text": {"content": …}}``.
  Answer ``{"errcode": 0, "errmsg": "ok"}``.
* Feishu (飞书) custom bot, "签名校验": ``timestamp`` (seconds, as a string) and ``sign`` =
  base64(HMAC-SHA256(key=timestamp + "\\n" + secret, message=empty)) in the JSON body, beside ``msg_type`` and
  ``content`` (``post`` rich text or ``text``). Answer ``{"code": 0, "msg": "success", "data": {}}`` (older bots:
  ``{"StatusCode": 0, …}``).
* Our signed webhook: the JSON body below, with headers ``X-EduSec-Timestamp`` (seconds) and ``X-EduSec-Signature:
  sha256=<hex HMAC-SHA256(key=secret, message=timestamp + "." + raw body)>`` (docs/channels.md shows how to verify).

Every vendor answers HTTP 200 with an error code in the JSON when it refuses a message; such an answer is a failed
attempt, exactly as a non-2xx status, a timeout or a refused connection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import smtplib
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.utils.translation import gettext as _

MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_CHARS = 500
USER_AGENT = "EduSec-Channels/1"

# Content limits of the vendors (bytes of UTF-8), with a margin for the JSON around them.
LIMITS = {
    ("wecom", "markdown"): 4096,
    ("wecom", "text"): 2048,
    ("dingtalk", "markdown"): 18000,
    ("dingtalk", "text"): 18000,
    ("feishu", "markdown"): 18000,
    ("feishu", "text"): 18000,
}


# ---- the message ----------------------------------------------------------------------------------------------------


@dataclass
class OutgoingMessage:
    """What every channel renders in its own way."""

    delivery_id: str
    event_type: str
    event_label: str
    title: str
    body: str
    link: str  # absolute, or "" when there is none
    unit_name: str = ""
    unit_code: str = ""
    object_type: str = ""
    object_id: int | None = None
    created_at: datetime | None = None
    attempt: int = 1
    is_test: bool = False


@dataclass
class AttemptResult:
    success: bool
    http_status: int | None = None
    result: str = ""  # short outcome: "errcode 0 (ok)", "HTTP 503", "SMTP 550"
    response: str = ""  # the first characters of what the other side answered
    error: str = ""
    retryable: bool = True  # False for configuration problems that another try cannot fix


@dataclass
class PreparedRequest:
    url: str
    headers: dict[str, str]
    body: bytes


def site_url() -> str:
    """The installation's own address, for links in messages that leave the platform."""
    if settings.EDUSEC_SITE_URL:
        return settings.EDUSEC_SITE_URL
    host = os.environ.get("EDUSEC_HOST") or "127.0.0.1"
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = os.environ.get("EDUSEC_PORT") or "8000"
    return f"http://{host}:{port}"


def absolute_link(link: str) -> str:
    link = (link or "").strip()
    if link.startswith(("http://", "https://")):
        return link
    if link.startswith("/") and not link.startswith("//"):
        return site_url() + link
    return ""


def truncate_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8 (never inside a character), marked with an ellipsis."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    ellipsis = "…"
    cut = raw[: max(0, limit - len(ellipsis.encode("utf-8")))].decode("utf-8", errors="ignore")
    return cut + ellipsis


def footer(msg: OutgoingMessage) -> str:
    # "EduSec" is always in the footer: a DingTalk/Feishu robot with the keyword security setting can use it.
    parts = [msg.event_label, msg.unit_name, "EduSec"]
    return " · ".join(p for p in parts if p)


def render_markdown(msg: OutgoingMessage, limit: int | None = None) -> str:
    head = f"### {msg.title}\n"
    tail = f"\n\n> {footer(msg)}"
    if msg.link:
        tail += f"\n\n[{_('View details')}]({msg.link})"
    body = msg.body.strip()
    if limit is not None:
        room = limit - len((head + tail).encode("utf-8")) - 2
        body = truncate_bytes(body, max(room, 0))
    return head + ("\n" + body if body else "") + tail


def render_text(msg: OutgoingMessage, limit: int | None = None) -> str:
    head = f"【{msg.title}】\n"
    tail = f"\n{footer(msg)}"
    if msg.link:
        tail += f"\n{_('View details')}: {msg.link}"
    body = msg.body.strip()
    if limit is not None:
        room = limit - len((head + tail).encode("utf-8")) - 1
        body = truncate_bytes(body, max(room, 0))
    return head + (body + "\n" if body else "") + tail.lstrip("\n")


def _json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _with_query(url: str, **params) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += [(k, str(v)) for k, v in params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


# ---- signatures (pure) ----------------------------------------------------------------------------------------------


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk "加签": base64 of HMAC-SHA256 keyed with the secret over "timestamp\\nsecret" (not yet URL-encoded)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu "签名校验": base64 of HMAC-SHA256 keyed with "timestamp\\nsecret" over an empty message."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def webhook_signature(secret: str, timestamp_s: int | str, body: bytes) -> str:
    """Our webhook: "sha256=" + hex HMAC-SHA256 keyed with the secret over "timestamp." + raw body."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_s}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


# ---- requests per vendor (pure) -------------------------------------------------------------------------------------


def wecom_request(url: str, msg: OutgoingMessage, fmt: str) -> PreparedRequest:
    if fmt == "text":
        payload = {"msgtype": "text", "text": {"content": render_text(msg, LIMITS["wecom", "text"])}}
    else:
        payload = {"msgtype": "markdown", "markdown": {"content": render_markdown(msg, LIMITS["wecom", "markdown"])}}
    return PreparedRequest(url, {"Content-Type": "application/json; charset=utf-8"}, _json(payload))


def dingtalk_request(url: str, secret: str, msg: OutgoingMessage, fmt: str, now: float) -> PreparedRequest:
    if secret:
        timestamp = int(now * 1000)
        # quote_plus here, once: urlencode in _with_query would encode the query value again.
        url = _with_query(url, timestamp=timestamp)
        url += "&sign=" + quote_plus(dingtalk_sign(secret, timestamp))
    if fmt == "text":
        payload = {"msgtype": "text", "text": {"content": render_text(msg, LIMITS["dingtalk", "text"])}}
    else:
        payload = {
            "msgtype": "markdown",
            "markdown": {"title": msg.title, "text": render_markdown(msg, LIMITS["dingtalk", "markdown"])},
        }
    return PreparedRequest(url, {"Content-Type": "application/json; charset=utf-8"}, _json(payload))


def feishu_request(url: str, secret: str, msg: OutgoingMessage, fmt: str, now: float) -> PreparedRequest:
    payload: dict = {}
    if secret:
        timestamp = int(now)
        payload["timestamp"] = str(timestamp)
        payload["sign"] = feishu_sign(secret, timestamp)
    if fmt == "text":
        payload["msg_type"] = "text"
        payload["content"] = {"text": render_text(msg, LIMITS["feishu", "text"])}
    else:
        body = truncate_bytes(msg.body.strip(), LIMITS["feishu", "markdown"])
        paragraphs = [[{"tag": "text", "text": line}] for line in body.splitlines()] if body else []
        paragraphs.append([{"tag": "text", "text": footer(msg)}])
        if msg.link:
            paragraphs.append([{"tag": "a", "text": _("View details"), "href": msg.link}])
        payload["msg_type"] = "post"
        payload["content"] = {"post": {"zh_cn": {"title": msg.title, "content": paragraphs}}}
    return PreparedRequest(url, {"Content-Type": "application/json; charset=utf-8"}, _json(payload))


def webhook_payload(msg: OutgoingMessage) -> dict:
    return {
        "id": msg.delivery_id,
        "event": msg.event_type,
        "event_label": msg.event_label,
        "title": msg.title,
        "body": msg.body,
        "url": msg.link,
        "unit": {"name": msg.unit_name, "code": msg.unit_code},
        "object": {"type": msg.object_type, "id": msg.object_id} if msg.object_type else None,
        "created_at": msg.created_at.isoformat() if msg.created_at else None,
        "attempt": msg.attempt,
        "test": msg.is_test,
    }


def webhook_request(url: str, secret: str, msg: OutgoingMessage, now: float) -> PreparedRequest:
    body = _json(webhook_payload(msg))
    timestamp = int(now)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-EduSec-Event": msg.event_type,
        "X-EduSec-Delivery": msg.delivery_id,
        "X-EduSec-Timestamp": str(timestamp),
        "X-EduSec-Signature": webhook_signature(secret, timestamp, body),
    }
    return PreparedRequest(url, headers, body)


def build_request(kind: str, url: str, secret: str, fmt: str, msg: OutgoingMessage, now: float) -> PreparedRequest:
    if kind == "wecom":
        return wecom_request(url, msg, fmt)
    if kind == "dingtalk":
        return dingtalk_request(url, secret, msg, fmt, now)
    if kind == "feishu":
        return feishu_request(url, secret, msg, fmt, now)
    if kind == "webhook":
        return webhook_request(url, secret, msg, now)
    raise ValueError(f"not an HTTP channel: {kind}")


# ---- answers (pure) -------------------------------------------------------------------------------------------------


def excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def interpret(kind: str, status: int, text: str) -> AttemptResult:
    """Success or failure of one HTTP answer, the vendor's error code included."""
    response = excerpt(text)
    if not 200 <= status < 300:
        return AttemptResult(False, status, f"HTTP {status}", response, f"HTTP {status}")
    if kind == "webhook":
        return AttemptResult(True, status, f"HTTP {status}", response)
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return AttemptResult(False, status, f"HTTP {status}", response, "the answer is not a JSON object")
    if kind in ("wecom", "dingtalk"):
        code, message = data.get("errcode"), data.get("errmsg", "")
        label = "errcode"
    else:  # feishu: "code"/"msg"; bots created before 2021 answer "StatusCode"/"StatusMessage"
        code = data.get("code", data.get("StatusCode"))
        message = data.get("msg", data.get("StatusMessage", ""))
        label = "code"
    if code == 0:
        return AttemptResult(True, status, f"{label} 0 ({message or 'ok'})"[:200], response)
    if code is None:
        return AttemptResult(False, status, f"HTTP {status}", response, f"the answer has no {label}")
    return AttemptResult(False, status, f"{label} {code}"[:200], response, f"{label} {code}: {message}")


# ---- transport ------------------------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured (and following it could leave the allowed hosts): a failed try."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class TransportError(Exception):
    pass


def http_post(prepared: PreparedRequest, timeout: float) -> tuple[int, str]:
    """POST and return (status, text). Network failures raise TransportError.

    The standard library's urllib is enough for one short POST per attempt from a worker thread (aiohttp would need an
    event loop per attempt for nothing)."""
    proxy = settings.EDUSEC_CHANNEL_PROXY
    proxies = {"http": proxy, "https": proxy} if proxy else {}  # never the environment's proxy variables
    opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies), _NoRedirect)
    headers = {"User-Agent": USER_AGENT, **prepared.headers}
    request = urllib.request.Request(prepared.url, data=prepared.body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:  # a status outside 2xx: still an answer
        try:
            raw = exc.read(MAX_RESPONSE_BYTES)
        except Exception:  # the body could not be read; the status says enough
            raw = b""
        status = exc.code
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise TransportError(f"timed out after {timeout:g} s") from exc
        raise TransportError(f"connection failed: {reason}") from exc
    except TimeoutError as exc:
        raise TransportError(f"timed out after {timeout:g} s") from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}") from exc
    return status, raw.decode("utf-8", errors="replace")


def send_http(kind: str, url: str, secret: str, fmt: str, msg: OutgoingMessage, now: float) -> AttemptResult:
    from .validation import url_problem

    problem = url_problem(url)
    if problem:
        return AttemptResult(False, None, "not sent", "", problem, retryable=False)
    if kind in ("webhook",) and not secret:
        return AttemptResult(False, None, "not sent", "", "the webhook has no secret", retryable=False)
    prepared = build_request(kind, url, secret, fmt, msg, now)
    try:
        status, text = http_post(prepared, settings.EDUSEC_CHANNEL_TIMEOUT)
    except TransportError as exc:
        return AttemptResult(False, None, "no answer", "", str(exc))
    return interpret(kind, status, text)


def send_email(addresses: list[str], msg: OutgoingMessage) -> AttemptResult:
    """Through Django's configured e-mail backend (SMTP in production, locmem in tests, console by default)."""
    from django.core import mail

    if not addresses:
        return AttemptResult(False, None, "not sent", "", "no e-mail address", retryable=False)
    subject = (settings.EDUSEC_MAIL_SUBJECT_PREFIX + msg.title).replace("\r", " ").replace("\n", " ")
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2] if "." in settings.EMAIL_BACKEND else settings.EMAIL_BACKEND
    try:
        connection = mail.get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
        message = mail.EmailMessage(
            subject=subject,
            body=render_text(msg),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=addresses,
            connection=connection,
            headers={"X-EduSec-Event": msg.event_type, "X-EduSec-Delivery": msg.delivery_id},
        )
        sent = message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        details = "; ".join(
            f"{a}: {c} {m.decode(errors='replace') if isinstance(m, bytes) else m}"
            for a, (c, m) in exc.recipients.items()
        )
        return AttemptResult(False, None, "SMTP recipients refused", excerpt(details), excerpt(details))
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return AttemptResult(False, None, f"SMTP {exc.smtp_code}", excerpt(text), f"SMTP {exc.smtp_code}: {text}")
    except (smtplib.SMTPException, OSError) as exc:
        return AttemptResult(False, None, "SMTP error", "", f"{type(exc).__name__}: {exc}")
    if not sent:
        return AttemptResult(False, None, f"{backend}: not accepted", "", "the e-mail backend accepted nothing")
    return AttemptResult(True, None, f"{backend}: accepted for {len(addresses)} recipient(s)")
