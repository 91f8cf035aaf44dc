"""A local stand-in for the vendors' robot endpoints, for tests and the demo. Loopback addresses only.

Each *route* (a URL path) impersonates one channel with its own secret: it checks the request exactly as the vendor
documents (DingTalk's query-string signature, Feishu's body signature, our webhook's headers; WeCom's and DingTalk's
access key in the query when a ``token`` is given), records what it received and whether the signature was valid, and
answers like the vendor: ``{"errcode": 0, "errmsg": "ok"}``, ``{"code": 0, "msg": "success", "data": {}}``, …

    with WebhookReceiver() as receiver:                       # 127.0.0.1, any free port
        route = receiver.add_route("/dingtalk", "dingtalk", secret="SEC123")
        endpoint.webhook_url = receiver.url("/dingtalk") + "?access_token=abc"
        ...
        route.fail_next(2)                                    # answer the next two requests with a vendor error
        assert route.received[-1].signature_valid

As a command for the demo: ``edusec webhook_receiver --port 18090`` (routes /wecom, /dingtalk, /feishu, /webhook).

The standard library's threaded HTTP server is enough for a handful of test requests and needs no event loop in the
test thread.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .validation import is_loopback_host

KINDS = ("wecom", "dingtalk", "feishu", "webhook")
MAX_BODY = 1024 * 1024
# How far a signed timestamp may be from the receiver's clock: DingTalk and Feishu allow one hour; our webhook 5 min.
VENDOR_WINDOW_S = 3600
WEBHOOK_WINDOW_S = 300


@dataclass
class Received:
    path: str
    kind: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: object
    signature_valid: bool | None  # None: the route has no secret, nothing to check
    accepted: bool  # answered as a success
    error: str = ""
    at: float = field(default_factory=time.time)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Route:
    path: str
    kind: str
    secret: str = ""
    token: str = ""  # WeCom "key" / DingTalk "access_token" the URL must carry (not checked when empty)
    # Forced failures for testing retries: how many coming requests to refuse (-1: all) and how.
    failures: int = 0
    failure_mode: str = "vendor"  # "vendor": HTTP 200 with the vendor's error code; "http": failure_status
    failure_status: int = 503
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    received: list[Received] = field(default_factory=list)

    def fail_next(self, count: int = 1, mode: str = "vendor", status: int = 503) -> Route:
        if mode not in ("vendor", "http"):
            raise ValueError("mode is 'vendor' or 'http'")
        self.failures, self.failure_mode, self.failure_status = count, mode, status
        return self

    def always_fail(self, mode: str = "vendor", status: int = 503) -> Route:
        return self.fail_next(-1, mode, status)

    def recover(self) -> Route:
        self.failures = 0
        return self


# ---- vendor checks and answers --------------------------------------------------------------------------------------


def _ok(kind: str) -> tuple[int, dict]:
    if kind == "feishu":
        return 200, {"code": 0, "msg": "success", "data": {}}
    if kind == "webhook":
        return 200, {"ok": True}
    return 200, {"errcode": 0, "errmsg": "ok"}


def _vendor_error(kind: str, code: int, message: str) -> tuple[int, dict]:
    if kind == "feishu":
        return 200, {"code": code, "msg": message, "data": {}}
    if kind == "webhook":
        return 400, {"ok": False, "error": message}
    return 200, {"errcode": code, "errmsg": message}


def _forced_failure(route: Route) -> tuple[int, dict]:
    if route.failure_mode == "http":
        return route.failure_status, {"error": "service unavailable (forced by the test receiver)"}
    if route.kind == "feishu":
        return 200, {"code": 11232, "msg": "frequency limited (forced by the test receiver)", "data": {}}
    if route.kind == "dingtalk":
        return 200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute (forced)"}
    if route.kind == "wecom":
        return 200, {"errcode": 45009, "errmsg": "api freq out of limit (forced by the test receiver)"}
    return 503, {"ok": False, "error": "unavailable (forced by the test receiver)"}


def _within(timestamp: float, window: float) -> bool:
    return abs(time.time() - timestamp) <= window


# The receiver computes signatures on its own, from the vendors' descriptions, rather than reusing the sender's
# functions: a mistake on the sending side then shows up as an invalid signature instead of agreeing with itself.


def vendor_dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    string_to_sign = timestamp_ms + "\n" + secret
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).digest()).decode()


def vendor_feishu_sign(secret: str, timestamp_s: str) -> str:
    string_to_sign = timestamp_s + "\n" + secret
    return base64.b64encode(hmac.new(string_to_sign.encode(), b"", hashlib.sha256).digest()).decode()


def vendor_webhook_signature(secret: str, timestamp_s: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp_s.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_dingtalk(route: Route, query: dict[str, str], data) -> tuple[bool | None, tuple[int, dict] | None]:
    """(signature_valid, error answer or None)."""
    if route.token and query.get("access_token") != route.token:
        return None, _vendor_error("dingtalk", 300001, "token is not exist")
    valid = None
    if route.secret:
        timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
        if not timestamp.isdigit() or not sign:
            return False, _vendor_error("dingtalk", 310000, "sign not match, timestamp or sign is missing")
        expected = vendor_dingtalk_sign(route.secret, timestamp)
        valid = hmac.compare_digest(expected, sign) and _within(int(timestamp) / 1000, VENDOR_WINDOW_S)
        if not valid:
            return False, _vendor_error("dingtalk", 310000, "sign not match")
    if not isinstance(data, dict) or data.get("msgtype") not in ("text", "markdown", "link", "actionCard", "feedCard"):
        return valid, _vendor_error("dingtalk", 40035, "missing msgtype or unsupported msgtype")
    msgtype = data["msgtype"]
    content = data.get(msgtype)
    if msgtype == "text" and not (isinstance(content, dict) and content.get("content")):
        return valid, _vendor_error("dingtalk", 40035, "missing text content")
    if msgtype == "markdown" and not (isinstance(content, dict) and content.get("title") and content.get("text")):
        return valid, _vendor_error("dingtalk", 40035, "markdown needs title and text")
    return valid, None


def check_wecom(route: Route, query: dict[str, str], data) -> tuple[bool | None, tuple[int, dict] | None]:
    if route.token and query.get("key") != route.token:
        return None, _vendor_error("wecom", 93000, "invalid webhook url")
    if not isinstance(data, dict) or data.get("msgtype") not in ("text", "markdown", "image", "news", "file"):
        return None, _vendor_error("wecom", 40008, "invalid message type")
    content = data.get(data["msgtype"])
    if data["msgtype"] in ("text", "markdown"):
        text = content.get("content") if isinstance(content, dict) else None
        if not text:
            return None, _vendor_error("wecom", 44004, "empty content")
        limit = 2048 if data["msgtype"] == "text" else 4096
        if len(text.encode("utf-8")) > limit:
            return None, _vendor_error("wecom", 40058, f"content exceed max length {limit}")
    return None, None


def check_feishu(route: Route, data) -> tuple[bool | None, tuple[int, dict] | None]:
    if not isinstance(data, dict):
        return None, _vendor_error("feishu", 9499, "Bad Request")
    valid = None
    if route.secret:
        timestamp, sign = str(data.get("timestamp", "")), str(data.get("sign", ""))
        if not timestamp.isdigit() or not sign:
            return False, _vendor_error("feishu", 19021, "sign match fail or timestamp is not within one hour")
        expected = vendor_feishu_sign(route.secret, timestamp)
        valid = hmac.compare_digest(expected, sign) and _within(int(timestamp), VENDOR_WINDOW_S)
        if not valid:
            return False, _vendor_error(
                "feishu", 19021, "sign match fail or timestamp is not within one hour from current time"
            )
    msg_type, content = data.get("msg_type"), data.get("content")
    if msg_type == "text":
        ok = isinstance(content, dict) and bool(content.get("text"))
    elif msg_type == "post":
        post = content.get("post") if isinstance(content, dict) else None
        ok = isinstance(post, dict) and any(isinstance(v, dict) and v.get("content") for v in post.values())
    elif msg_type in ("interactive", "image", "share_chat"):
        ok = content is not None or "card" in data
    else:
        ok = False
    if not ok:
        return valid, _vendor_error("feishu", 9499, "Bad Request: msg_type or content is invalid")
    return valid, None


def check_webhook(route: Route, headers: dict[str, str], body: bytes, data) -> tuple[bool | None, tuple | None]:
    valid = None
    if route.secret:
        timestamp = headers.get("x-edusec-timestamp", "")
        signature = headers.get("x-edusec-signature", "")
        valid = (
            timestamp.isdigit()
            and _within(int(timestamp), WEBHOOK_WINDOW_S)
            and hmac.compare_digest(vendor_webhook_signature(route.secret, timestamp, body), signature)
        )
        if not valid:
            return False, (401, {"ok": False, "error": "bad signature"})
    if not isinstance(data, dict) or not data.get("id") or not data.get("event"):
        return valid, (400, {"ok": False, "error": "not an EduSec event"})
    return valid, None


# ---- the server -----------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    server_version = "EduSecTestReceiver/1"
    receiver: WebhookReceiver  # set on the subclass made per receiver

    def log_message(self, format, *args):  # quiet: the receiver reports through its records and callback
        pass

    def do_GET(self):
        self._answer(405, {"error": "POST only"})

    def do_POST(self):
        parts = urlsplit(self.path)
        route = self.receiver.routes.get(parts.path)
        if route is None:
            self._answer(404, {"error": "no such route"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            data = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            data = None
        if route.kind == "dingtalk":
            valid, error = check_dingtalk(route, query, data)
        elif route.kind == "wecom":
            valid, error = check_wecom(route, query, data)
        elif route.kind == "feishu":
            valid, error = check_feishu(route, data)
        else:
            valid, error = check_webhook(route, headers, body, data)
        with self.receiver.lock:
            forced = error is None and route.failures != 0
            if forced and route.failures > 0:
                route.failures -= 1
        if error is None and forced:
            error = _forced_failure(route)
        status, answer = error if error is not None else _ok(route.kind)
        record = Received(
            path=parts.path,
            kind=route.kind,
            query=query,
            headers=headers,
            body=body,
            json=data,
            signature_valid=valid,
            accepted=error is None,
            error="" if error is None else json.dumps(answer, ensure_ascii=False),
        )
        with self.receiver.lock:
            route.received.append(record)
        if self.receiver.on_receive is not None:
            try:
                self.receiver.on_receive(record)
            except Exception:  # a reporting callback must not break the answer
                pass
        if route.delay:
            time.sleep(route.delay)
        self._answer(status, answer)

    def _answer(self, status: int, data: dict) -> None:
        raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass


class WebhookReceiver:
    """A threaded HTTP server on a loopback address. Use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, on_receive=None):
        if not is_loopback_host(host) or host == "localhost":
            raise ValueError("the test receiver listens on a loopback address only (127.0.0.1 or ::1)")
        self.host = host
        self.requested_port = port
        self.routes: dict[str, Route] = {}
        self.lock = threading.Lock()
        self.on_receive = on_receive
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # routes
    def add_route(self, path: str, kind: str, secret: str = "", token: str = "") -> Route:
        if kind not in KINDS:
            raise ValueError(f"kind is one of {KINDS}")
        if not path.startswith("/"):
            raise ValueError("a route path starts with /")
        route = Route(path=path, kind=kind, secret=secret, token=token)
        self.routes[path] = route
        return route

    def route(self, path: str) -> Route:
        return self.routes[path]

    @property
    def received(self) -> list[Received]:
        with self.lock:
            return sorted((r for route in self.routes.values() for r in route.received), key=lambda r: r.at)

    def clear(self) -> None:
        with self.lock:
            for route in self.routes.values():
                route.received.clear()

    # server
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the receiver is not running")
        return self._server.server_address[1]

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def start(self) -> WebhookReceiver:
        handler = type("Handler", (_Handler,), {"receiver": self})
        server_class = _Server
        if ":" in self.host:
            server_class = type("Server6", (_Server,), {"address_family": socket.AF_INET6})
        self._server = server_class((self.host, self.requested_port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="edusec-webhook-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def wait(self) -> None:
        """Block until the server stops (for the command: Ctrl-C raises KeyboardInterrupt here)."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


__all__ = ["Received", "Route", "WebhookReceiver"]
