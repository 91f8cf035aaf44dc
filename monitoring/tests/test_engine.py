"""The probe engine against small servers of its own on loopback (127.0.0.1 and ::1), never a real address.

The servers run in a background thread with their own event loop for the whole module; each test drives an engine
with ``asyncio.run`` in the main thread and afterwards reads what the servers recorded (SNI names, headers, peer ports,
concurrency). Certificates (a CA, leaves valid / expiring in 3 days / expired / self-signed / wrong host / from an
unknown CA) are generated with ``cryptography`` at fixture time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
import ssl
import threading
import time
from collections import defaultdict
from urllib.parse import urlencode

import orjson
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitoring.engine import (
    BROWSER_USER_AGENT,
    MOBILE_USER_AGENT,
    SPIDER_USER_AGENT,
    Engine,
    HostLimiter,
    ProbeTarget,
    ProjectResolver,
    Timeouts,
    body_hash,
    run_coroutine,
    run_sweep,
)
from monitoring.vocabulary import CONTENT, DNS, HTTP, IPV6, TLS

PAGE = ("<html><head><title>示范中学</title></head><body>" + "<p>校园新闻</p>" * 200 + "</body></html>").encode()
IPV6_SITES = {"v6.test"}
FAST = Timeouts(connect=2, tls=2, ttfb=2, total=5, dns=2)

# --- certificates -------------------------------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _make_ca(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )  # digitalSignature, keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _make_leaf(cn, sans, issuer_cert, issuer_key, not_before_days=-1, not_after_days=365):
    """A server certificate; ``issuer_cert=None`` makes it self-signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    issuer_name = issuer_cert.subject if issuer_cert is not None else _name(cn)
    signing_key = issuer_key if issuer_cert is not None else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=not_before_days))
        .not_valid_after(now + dt.timedelta(days=not_after_days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(signing_key, hashes.SHA256()), key


def _write_pair(directory, name, cert, key):
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("certs")
    ca_cert, ca_key = _make_ca("EduSec Test CA")
    other_ca, other_key = _make_ca("Somebody Else CA")
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    leaves = {
        "valid.test": _make_leaf("valid.test", ["valid.test", "site.test"], ca_cert, ca_key),
        "expiring.test": _make_leaf("expiring.test", ["expiring.test"], ca_cert, ca_key, not_after_days=3),
        "expired.test": _make_leaf("expired.test", ["expired.test"], ca_cert, ca_key, -30, -1),
        "selfsigned.test": _make_leaf("selfsigned.test", ["selfsigned.test"], None, None),
        "wronghost.test": _make_leaf("other.test", ["other.test"], ca_cert, ca_key),
        "untrusted.test": _make_leaf("untrusted.test", ["untrusted.test"], other_ca, other_key),
    }
    return {
        "ca": directory / "ca.pem",
        "pairs": {name: _write_pair(directory, name, *pair) for name, pair in leaves.items()},
    }


# --- the servers -----------------------------------------------------------------------------------------------------


class Farm:
    """Loopback servers in a background thread, and what they saw."""

    def __init__(self, certs):
        self.certs = certs
        self.sni: list[str] = []
        self.seen_headers: list[dict] = []
        self.peers: dict[str, set] = defaultdict(set)  # Host -> client (address, port) pairs = connections
        self.active: dict[str, int] = defaultdict(int)
        self.max_active: dict[str, int] = defaultdict(int)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("test servers did not start")
        if self.error:
            raise self.error

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.error = None
        try:
            self.loop.run_until_complete(self._start())
        except Exception as exc:  # reported to the fixture
            self.error = exc
            self.ready.set()
            return
        self.ready.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    async def _start(self):
        app = web.Application()
        app.router.add_get("/ok", self.ok)
        app.router.add_get("/page", self.page)
        app.router.add_get("/redirect/{n}", self.redirect)
        app.router.add_get("/away", self.away)
        app.router.add_get("/big", self.big)
        app.router.add_get("/chunked-big", self.chunked_big)
        app.router.add_get("/slow-headers", self.slow_headers)
        app.router.add_get("/busy", self.busy)
        app.router.add_get("/boom", self.boom)
        app.router.add_get("/echo", self.echo)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()

        # HTTP on 127.0.0.1, and the same port number on ::1 for the IPv6 side (the port map has one entry per port).
        for _ in range(20):
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            self.http_port = site._server.sockets[0].getsockname()[1]
            try:
                self.v6_server = await self.loop.create_server(_V6Protocol, "::1", self.http_port)
                break
            except OSError:
                await site.stop()
        else:
            raise RuntimeError("no port free on both 127.0.0.1 and ::1")

        # HTTPS with a certificate chosen by SNI.
        contexts = {}
        for name, (cert_path, key_path) in self.certs["pairs"].items():
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert_path, key_path)
            contexts[name] = ctx
        default = contexts["valid.test"]
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(*self.certs["pairs"]["valid.test"])

        def pick(ssl_object, server_name, _ctx):
            self.sni.append(server_name)
            ssl_object.context = contexts.get(server_name, default)

        tls_ctx.sni_callback = pick
        tls_site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=tls_ctx)
        await tls_site.start()
        self.tls_port = tls_site._server.sockets[0].getsockname()[1]

        # Accepts connections and never says a word: handshake and TTFB timeouts.
        self.silent = await self.loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
        self.silent_port = self.silent.sockets[0].getsockname()[1]

    def stop(self):
        async def shutdown():
            self.v6_server.close()
            self.silent.close()
            await self.runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    # handlers

    def _record(self, request):
        self.peers[request.host.split(":")[0]].add(request.transport.get_extra_info("peername")[:2])
        self.seen_headers.append(dict(request.headers))

    async def ok(self, request):
        self._record(request)
        return web.Response(text="ok", headers={"Server": "nginx/1.0.15", "X-Powered-By": "PHP/5.2.17"})

    async def page(self, request):
        self._record(request)
        return web.Response(body=PAGE, content_type="text/html")

    async def redirect(self, request):
        n = int(request.match_info["n"])
        raise web.HTTPFound(f"/redirect/{n - 1}" if n > 1 else "/ok")

    async def away(self, request):
        """A redirect for spiders only (``?to=`` the target), the page for everybody else."""
        if "spider" in request.headers.get("User-Agent", "").lower():
            raise web.HTTPFound(request.query["to"])
        return web.Response(text="the school page")

    async def big(self, request):
        return web.Response(body=b"x" * 100_000)

    async def chunked_big(self, request):
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(20):
            await response.write(b"y" * 10_000)
        await response.write_eof()
        return response

    async def slow_headers(self, request):
        await asyncio.sleep(3)
        return web.Response(text="late")

    async def busy(self, request):
        self._record(request)
        host = request.host.split(":")[0]
        self.active[host] += 1
        self.max_active[host] = max(self.max_active[host], self.active[host])
        try:
            await asyncio.sleep(0.05)
        finally:
            self.active[host] -= 1
        return web.Response(text="busy")

    async def boom(self, request):
        raise RuntimeError("handler failed")

    async def echo(self, request):
        self._record(request)
        ua, referer = request.headers.get("User-Agent", ""), request.headers.get("Referer", "")
        return web.Response(text=f"UA={ua}\nReferer={referer}\nHost={request.host}")


class _V6Protocol(asyncio.Protocol):
    """The farm's IPv6 side in miniature: answers for sites with IPv6, closes the connection for the others."""

    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        if b"\r\n\r\n" not in self.buffer:
            return
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        host = ""
        for line in head.decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == "host":
                host = value.strip().rsplit(":", 1)[0] if value.strip().count(":") == 1 else value.strip()
        if host in IPV6_SITES:
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Type: text/plain\r\n\r\nv6 here")
        else:
            self.transport.close()


@pytest.fixture(scope="module")
def farm(certs):
    instance = Farm(certs)
    yield instance
    instance.stop()


def engine_for(farm, **kwargs) -> Engine:
    options = dict(
        port_map={80: farm.http_port, 443: farm.tls_port}, ca_file=farm.certs["ca"], timeouts=FAST, concurrency=20
    )
    options.update(kwargs)
    return Engine(**options)


def sweep(farm, targets, **kwargs):
    async def main():
        async with engine_for(farm, **kwargs) as engine:
            return [result async for result in engine.sweep(targets)]

    return run_coroutine(main)


def probe(farm, target, **kwargs):
    async def main():
        async with engine_for(farm, **kwargs) as engine:
            return await engine.probe(target)

    return run_coroutine(main)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Analysers for the hook: top level, so a process pool can pickle them.


def analyse_length(result):
    return {"length": len(result.body), "pid": os.getpid()}


def analyse_fails(result):
    raise ValueError("analyser bug")


# --- http -----------------------------------------------------------------------------------------------------------


def test_status_latency_headers_and_redirect_chain(farm):
    result = probe(farm, ProbeTarget(1, HTTP, "http://site.test/redirect/3", "site.test"))
    assert result.ok and result.error == "" and result.status == 200
    assert result.redirects == [(302, "/redirect/2"), (302, "/redirect/1"), (302, "/ok")]
    assert result.final_url == "http://site.test/ok"
    assert result.latency_ms > 0 and set(result.phases) >= {"ttfb", "total"}
    assert result.headers["server"] == "nginx/1.0.15" and result.headers["x-powered-by"] == "PHP/5.2.17"
    assert result.headers["content-type"].startswith("text/plain")
    assert result.body is None  # not wanted


def test_too_many_redirects_is_an_http_error(farm):
    result = probe(farm, ProbeTarget(1, HTTP, "http://site.test/redirect/7"))
    assert not result.ok and result.error == "http" and "redirects" in result.error_detail
    assert len(result.redirects) == 5  # the hops followed before giving up


def test_body_hash_stable_and_body_only_when_changed(farm):
    first = probe(farm, ProbeTarget(1, CONTENT, "http://site.test/page", want_body=True))
    assert first.ok and first.body == PAGE and first.body_changed
    assert first.body_hash == body_hash(PAGE) and len(first.body_hash) == 16
    same = probe(farm, ProbeTarget(1, CONTENT, "http://site.test/page", last_body_hash=first.body_hash, want_body=True))
    assert same.body_hash == first.body_hash and not same.body_changed and same.body is None
    changed = probe(farm, ProbeTarget(1, CONTENT, "http://site.test/page", last_body_hash=b"old", want_body=True))
    assert changed.body_changed and changed.body == PAGE


@pytest.mark.parametrize("path", ["/big", "/chunked-big"])
def test_max_body_cap(farm, path):
    result = probe(farm, ProbeTarget(1, HTTP, f"http://site.test{path}"), max_body=50_000)
    assert not result.ok and result.error == "too_large" and result.status == 200


def test_timeout_waiting_for_headers(farm):
    t0 = time.monotonic()
    result = probe(farm, ProbeTarget(1, HTTP, "http://site.test/slow-headers"), timeouts=Timeouts(ttfb=0.3, total=5))
    assert result.error == "timeout" and result.error_detail == "ttfb"
    assert time.monotonic() - t0 < 2.5


def test_per_target_timeouts_override(farm):
    target = ProbeTarget(1, HTTP, f"http://127.0.0.1:{farm.silent_port}/", timeout=Timeouts(ttfb=0.2, total=3))
    result = probe(farm, target)
    assert result.error == "timeout" and result.error_detail == "ttfb"


def test_refused_port(farm):
    result = probe(farm, ProbeTarget(1, HTTP, "http://down.test/"), port_map={80: free_port()})
    assert result.error == "refused" and not result.ok


def test_server_error_status(farm):
    result = probe(farm, ProbeTarget(1, HTTP, "http://site.test/boom"))
    assert result.status == 500 and result.error == "http" and not result.ok


def test_port_map_reaches_the_farm_with_the_site_host_header(farm):
    result = probe(farm, ProbeTarget(1, HTTP, "http://school-a.example/echo"))
    assert result.ok
    assert any(h.get("Host") == "school-a.example" for h in farm.seen_headers)


def test_tracing_reports_connection_phases(farm):
    result = probe(farm, ProbeTarget(1, HTTP, "http://traced.test/ok"), trace_phases=True)
    assert result.ok and {"dns", "connect", "ttfb", "total"} <= set(result.phases)
    assert all(v >= 0 for v in result.phases.values())


# --- the address policy -------------------------------------------------------------------------------------------


def test_public_name_fails_without_any_lookup(farm, monkeypatch):
    calls = []

    def forbidden(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a public lookup was attempted")

    from aiohttp.resolver import ThreadedResolver

    monkeypatch.setattr(ThreadedResolver, "resolve", forbidden)
    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    for kind in (HTTP, DNS, TLS, IPV6):
        result = probe(farm, ProbeTarget(1, kind, "https://www.moe.gov.cn/"))
        assert result.error == "dns" and "allow_public=False" in result.error_detail, (kind, result)
    assert calls == []


def test_public_names_resolve_through_the_fallback_once(farm):
    class FakePublicDNS:
        """Stands in for getaddrinfo: the test never resolves a real name."""

        calls = 0

        async def resolve(self, host, port=0, family=socket.AF_INET):
            FakePublicDNS.calls += 1
            return [
                {"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}
            ]

        async def close(self):
            pass

    resolver = ProjectResolver(allow_public=True, fallback=FakePublicDNS())
    targets = [ProbeTarget(i, HTTP, f"http://www.school.cn:{farm.http_port}/ok") for i in range(3)]
    targets.append(ProbeTarget(3, DNS, "", "www.school.cn"))
    results = sweep(farm, targets, resolver=resolver, per_host=1)
    assert all(r.ok for r in results), results
    assert FakePublicDNS.calls == 1 and resolver.lookups == 1  # one lookup, then the shared cache


def test_non_loopback_addresses_are_refused(farm):
    hosts = {"evil.test": ["10.1.2.3"]}
    for kind in (HTTP, DNS, TLS):
        result = probe(farm, ProbeTarget(1, kind, "http://evil.test/"), hosts=hosts)
        assert result.error == "connect" and "address not allowed" in result.error_detail, (kind, result)
    # IP literals never reach the resolver: the connector's socket factory refuses them (before any connect).
    for url in ("http://10.1.2.3/", "http://[2001:db8::1]/", "https://192.0.2.7/"):
        result = probe(farm, ProbeTarget(1, HTTP, url))
        assert result.error == "connect" and "address not allowed" in result.error_detail, (url, result)
    result = probe(farm, ProbeTarget(1, TLS, "https://192.0.2.7/"))
    assert result.error == "connect" and "address not allowed" in result.error_detail


# --- tls -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host, valid, verify_error, days",
    [
        ("valid.test", True, "", (360, 366)),
        ("expiring.test", True, "", (2.9, 3.01)),
        ("expired.test", False, "expired", (-1.01, -0.99)),
        ("selfsigned.test", False, "self_signed", (360, 366)),
        ("wronghost.test", False, "hostname_mismatch", (360, 366)),
        ("untrusted.test", False, "untrusted", (360, 366)),
    ],
)
def test_tls_classification(farm, host, valid, verify_error, days):
    result = probe(farm, ProbeTarget(1, TLS, f"https://{host}/", host))
    info = result.tls
    assert info is not None, result
    assert result.ok is valid and info.valid is valid and info.verify_error == verify_error
    assert days[0] <= info.days_left <= days[1]
    assert info.protocol == "TLSv1.3" and info.cipher
    assert info.not_after > info.not_before
    assert (result.error == "tls") is (not valid)
    assert {"connect", "tls", "total"} <= set(result.phases)
    expected_cn = "other.test" if host == "wronghost.test" else host
    assert info.subject_cn == expected_cn and expected_cn in info.sans
    assert host in farm.sni  # SNI carries the site name


def test_https_fetch_sends_sni_and_reaches_a_site_with_a_bad_certificate(farm):
    ok = probe(farm, ProbeTarget(1, HTTP, "https://site.test/ok"))
    assert ok.ok and ok.status == 200 and "site.test" in farm.sni
    # The page of a site whose certificate expired is still fetched (and analysed); the tls kind reports it.
    expired = probe(farm, ProbeTarget(1, HTTP, "https://expired.test/ok"))
    assert expired.ok and expired.status == 200
    assert probe(farm, ProbeTarget(1, TLS, "https://expired.test/")).tls.verify_error == "expired"
    # verify_fetch=True makes the page fetch itself verify.
    bad = probe(farm, ProbeTarget(1, HTTP, "https://expired.test/ok"), verify_fetch=True)
    assert bad.error == "tls" and bad.error_detail.startswith("expired")


def test_tls_handshake_timeout(farm):
    target = ProbeTarget(1, TLS, f"https://127.0.0.1:{farm.silent_port}/", timeout=Timeouts(tls=0.3, total=3))
    result = probe(farm, target)
    assert result.error == "timeout" and result.error_detail == "tls"


def test_tls_refused(farm):
    result = probe(farm, ProbeTarget(1, TLS, "https://down.test/"), port_map={443: free_port()})
    assert result.error == "refused"


# --- dns and ipv6 ----------------------------------------------------------------------------------------------------


def test_dns_check(farm):
    results = {
        r.check_id: r
        for r in sweep(farm, [ProbeTarget(1, DNS, "", "school-b.example"), ProbeTarget(2, DNS, "", "localhost")])
    }
    assert results[1].ok and results[1].dns == ["127.0.0.1"] and results[1].latency_ms >= 0
    assert results[2].ok and results[2].dns == ["127.0.0.1"]
    static = probe(farm, ProbeTarget(3, DNS, "", "pair.test"), hosts={"pair.test": ["127.0.0.2", "::1"]})
    assert static.ok and static.dns == ["127.0.0.2", "::1"]


def test_ipv6_check_ok_and_failing(farm):
    results = {
        r.check_id: r
        for r in sweep(farm, [ProbeTarget(1, IPV6, "http://v6.test/"), ProbeTarget(2, IPV6, "http://nov6.test/")])
    }
    good, bad = results[1], results[2]
    assert good.ok and good.dns == ["::1"] and good.ipv6["reachable"] and good.ipv6["status"] == 200
    assert not bad.ok and bad.error == "connect" and bad.ipv6["addresses"] == ["::1"] and not bad.ipv6["reachable"]
    # With an explicit list of IPv6 sites, others have no AAAA at all.
    none = probe(farm, ProbeTarget(3, IPV6, "http://nov6.test/"), ipv6_hosts={"v6.test"})
    assert none.error == "dns" and not none.ok and none.ipv6["addresses"] == []


# --- content and cloaking --------------------------------------------------------------------------------------------


def test_cloaking_variants_use_their_user_agent_and_referer(farm):
    target = ProbeTarget(1, CONTENT, "http://cloak.test/echo", want_body=True, variants=("spider", "mobile", "referer"))
    result = probe(farm, target)
    assert result.ok and f"UA={BROWSER_USER_AGENT}".encode() in result.body
    assert f"UA={SPIDER_USER_AGENT}".encode() in result.variants["spider"]
    assert f"UA={MOBILE_USER_AGENT}".encode() in result.variants["mobile"]
    assert b"Referer=https://www.baidu.com/s?wd=cloak.test" in result.variants["referer"]
    assert f"UA={BROWSER_USER_AGENT}".encode() in result.variants["referer"]
    assert all(meta["status"] == 200 and meta["error"] == "" for meta in result.variant_meta.values())


def test_http_kind_says_who_it_is(farm):
    result = probe(farm, ProbeTarget(1, HTTP, "http://who.test/echo", want_body=True))
    assert b"UA=EduSec-Monitor/1.0" in result.body


def test_unchanged_body_still_returned_when_a_variant_differs(farm):
    first = probe(farm, ProbeTarget(1, CONTENT, "http://cloak.test/echo"))
    target = ProbeTarget(
        1, CONTENT, "http://cloak.test/echo", last_body_hash=first.body_hash, want_body=True, variants=("spider",)
    )
    result = probe(farm, target)
    assert not result.body_changed and result.body is not None and "spider" in result.variants


def test_a_variant_follows_its_redirects_hop_by_hop_and_says_where_they_led(farm):
    target = ProbeTarget(1, CONTENT, "http://cloak.test/redirect/3", want_body=True, variants=("spider",))
    result = probe(farm, target)
    meta = result.variant_meta["spider"]
    assert meta["redirected_to"] == "http://cloak.test/ok" == meta["final_url"] == result.final_url
    assert meta["status"] == 200 and result.variants["spider"] == result.body


def test_a_variant_sent_to_a_dead_site_keeps_where_it_was_sent(farm):
    """Cloaked sites send spiders or search visitors to a spam site that is often down: the page is analysed anyway
    (even when it did not change), with where the variant was sent as the evidence."""
    dead = f"http://spam.test:{free_port()}/?from=cloak"
    url = f"http://cloak.test/away?{urlencode({'to': dead})}"
    first = probe(farm, ProbeTarget(1, CONTENT, url))
    result = probe(farm, ProbeTarget(1, CONTENT, url, last_body_hash=first.body_hash, want_body=True,
                                     variants=("spider", "mobile")))  # fmt: skip
    spider, mobile = result.variant_meta["spider"], result.variant_meta["mobile"]
    assert spider["redirected_to"] == dead and spider["error"] == "refused" and "spider" not in result.variants
    assert mobile["redirected_to"] == "" and result.variants["mobile"] == b"the school page"
    assert not result.body_changed and result.body == b"the school page"  # kept for the analysis


@pytest.mark.parametrize(
    ("location", "error"), [("javascript:alert(1)", "invalid_url"), ("ftp://files.test/a.zip", "invalid_url")]
)
def test_a_variant_redirect_that_is_no_web_address_is_an_error(farm, location, error):
    url = f"http://cloak.test/away?{urlencode({'to': location})}"
    result = probe(farm, ProbeTarget(1, CONTENT, url, want_body=True, variants=("spider",)))
    assert result.ok and result.variant_meta["spider"]["error"] == error and "spider" not in result.variants


def test_a_variant_in_a_redirect_loop_gives_up_after_the_limit(farm):
    url = f"http://cloak.test/away?{urlencode({'to': '/redirect/7'})}"
    result = probe(farm, ProbeTarget(1, CONTENT, url, want_body=True, variants=("spider",)))
    meta = result.variant_meta["spider"]  # away -> 7 -> 6 -> 5 -> 4 -> 3: five redirects followed, the sixth not
    assert meta["error"] == "http" and meta["redirected_to"] == "http://cloak.test/redirect/2"


# --- sweeps ----------------------------------------------------------------------------------------------------------


def test_per_host_bound(farm):
    targets = [ProbeTarget(i, HTTP, f"http://busy{i % 2}.test/busy") for i in range(16)]
    results = sweep(farm, targets, per_host=2, concurrency=10)
    assert len(results) == 16 and all(r.ok for r in results)
    assert farm.max_active["busy0.test"] == 2 and farm.max_active["busy1.test"] == 2


def test_second_sweep_reuses_connections(farm):
    targets = [ProbeTarget(i, HTTP, f"http://reuse{i % 3}.test/ok") for i in range(6)]

    async def main():
        async with engine_for(farm) as engine:
            first = [r async for r in engine.sweep(targets)]
            opened = {h: set(farm.peers[h]) for h in ("reuse0.test", "reuse1.test", "reuse2.test")}
            second = [r async for r in engine.sweep(targets)]
            return first, second, opened

    first, second, opened = run_coroutine(main)
    assert all(r.ok for r in first + second)
    for host, connections in opened.items():
        assert 1 <= len(connections) <= 2
        assert farm.peers[host] == connections  # no new connection in the second sweep


def test_exactly_one_result_per_target_whatever_happens(farm):
    targets = [
        ProbeTarget(1, HTTP, "http://site.test/boom"),
        ProbeTarget(2, "bogus", "http://site.test/ok"),
        ProbeTarget(3, HTTP, "http://[not a url/"),
        ProbeTarget(4, HTTP, "ftp://site.test/file"),
        ProbeTarget(5, CONTENT, "http://site.test/page", want_body=True),
        ProbeTarget(6, HTTP, "http://down.test:1/"),
        ProbeTarget(7, TLS, "https://site.test:notaport/"),
        ProbeTarget(8, HTTP, "http://site.test/ok"),
    ]
    results = sweep(farm, targets, analyse=analyse_fails)
    assert sorted(r.check_id for r in results) == list(range(1, 9))
    by_id = {r.check_id: r for r in results}
    assert by_id[1].error == "http" and by_id[2].error == "internal" and by_id[8].ok
    assert by_id[3].error in ("invalid_url", "internal") and by_id[4].error in ("invalid_url", "internal")
    assert by_id[5].ok and by_id[5].analysis is None and "analyser bug" in by_id[5].analysis_error


def test_sweep_yields_results_for_a_generator_and_stops_cleanly(farm):
    async def main():
        async with engine_for(farm) as engine:
            async with contextlib.aclosing(
                engine.sweep(ProbeTarget(i, HTTP, "http://site.test/ok") for i in range(50))
            ) as results:
                async for _ in results:
                    break
            left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            return left

    assert run_coroutine(main) == []


def test_host_limiter_hands_slots_over_and_survives_cancellation():
    async def main():
        limiter = HostLimiter(1)
        await limiter.acquire("a.test")
        waiter = asyncio.create_task(limiter.acquire("a.test"))
        cancelled = asyncio.create_task(limiter.acquire("a.test"))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.sleep(0)
        limiter.release("a.test")  # goes to the first waiter, skipping the cancelled one
        await waiter
        assert limiter.active("a.test") == 1 and not limiter.try_acquire("a.test")
        limiter.release("a.test")
        assert limiter.active("a.test") == 0 and limiter._active == {} and limiter._waiters == {}

    run_coroutine(main)


@pytest.mark.parametrize("mode", ["inline", "thread", "process"])
def test_analysis_hook(farm, mode):
    targets = [
        ProbeTarget(1, CONTENT, "http://site.test/page", want_body=True),
        ProbeTarget(2, CONTENT, "http://site.test/page", last_body_hash=body_hash(PAGE), want_body=True),
        ProbeTarget(3, HTTP, "http://site.test/page"),
    ]
    results = {r.check_id: r for r in sweep(farm, targets, analyse=analyse_length, analyse_in=mode, analysis_workers=2)}
    assert results[1].analysis["length"] == len(PAGE)
    assert (results[1].analysis["pid"] != os.getpid()) is (mode == "process")
    assert results[2].analysis is None and results[2].body is None  # unchanged: nothing to analyse
    assert results[3].analysis is None


def test_run_sweep_on_uvloop(farm):
    targets = [
        ProbeTarget(1, HTTP, "http://site.test/ok"),
        ProbeTarget(2, TLS, "https://valid.test/"),
        ProbeTarget(3, DNS, "", "site.test"),
        ProbeTarget(4, IPV6, "http://v6.test/"),
    ]
    results = run_sweep(
        targets, port_map={80: farm.http_port, 443: farm.tls_port}, ca_file=farm.certs["ca"], timeouts=FAST
    )
    assert sorted(r.check_id for r in results) == [1, 2, 3, 4]
    assert all(r.ok for r in results), [(r.check_id, r.error, r.error_detail) for r in results]


def test_run_sweep_from_a_thread_that_already_runs_an_event_loop(farm):
    """A synchronous caller inside a running loop (an async view, or Playwright's sync API in the test process) still
    gets its sweep: the engine's loop then runs in a thread of its own."""

    async def caller():
        options = dict(port_map={80: farm.http_port}, timeouts=FAST, allow_public=False)
        return run_sweep([ProbeTarget(1, HTTP, "http://site.test/ok")], **options)

    results = []
    worker = threading.Thread(target=lambda: results.extend(asyncio.run(caller())))
    worker.start()
    worker.join(30)
    assert [(r.check_id, r.ok, r.status) for r in results] == [(1, True, 200)]


def test_header_and_redirect_bytes_that_are_not_utf8_come_back_storable():
    """aiohttp hands over each header byte that is not UTF-8 (a legacy server's GBK banner) as a lone surrogate,
    which neither database nor JSON encoder accepts: one such result failed the store of its whole batch."""
    answers = {
        b"GET / ": b"HTTP/1.1 302 Found\r\nLocation: /next\xd6\xd0\r\nContent-Length: 0\r\n\r\n",
        b"GET /next": b"HTTP/1.1 200 OK\r\nServer: IIS \xd6\xd0\xce\xc4\r\nContent-Length: 2\r\n\r\nok",
    }

    async def answer(reader, writer):
        request = await reader.readuntil(b"\r\n\r\n")
        writer.write(next(reply for start, reply in answers.items() if request.startswith(start)))
        await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, Engine(timeouts=FAST, allow_public=False) as engine:
            return await engine.probe(ProbeTarget(1, HTTP, f"http://127.0.0.1:{port}/"))

    result = run_coroutine(main)
    assert result.ok and result.status == 200, result
    assert result.redirects == [(302, "/next\ufffd\ufffd")] and result.headers["server"] == "IIS " + "\ufffd" * 4
    orjson.dumps([result.redirects, result.headers])  # what the store sends; surrogates would raise here
