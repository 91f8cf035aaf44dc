"""The farm server: every virtual school site on one HTTP and one HTTPS port, on 127.0.0.1 and ::1.

Sites are told apart by the ``Host`` header and, on HTTPS, by SNI: the listener's ``sni_callback`` swaps in the
site's certificate context during the handshake. The low-level ``aiohttp.web.Server`` is used instead of an
``Application`` because there is nothing to route: one handler looks the site up in a dict and copies out bytes that
were prepared once per site and scenario. ``handler_cancellation`` is on, so a handler whose client went away (a held
``timeout`` request, a ``slow`` one) is cancelled instead of lingering.

This module must not need Django settings: the benchmark runs it as a bare Python process.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import json
import logging
import os
import socket
import ssl
import struct
from collections.abc import Callable, Iterable
from pathlib import Path

from aiohttp import web

from monitoring.simfarm.certs import CertificateAuthority, ContextCache
from monitoring.simfarm.pages import (
    DEFAULT_PAGE_SIZE,
    HTML_TYPE,
    SPAM_HOSTS,
    Page,
    SchoolPages,
    from_search_engine,
    in_gbk,
    is_mobile,
    is_spider,
)
from monitoring.simfarm.sites import (
    CONTROL_HOST,
    LOOPBACK_NAMES,
    SITES_FILE,
    Site,
    SiteError,
    load_sites,
    normalise_host,
    save_sites,
)
from monitoring.vocabulary import FARM_SCENARIOS, FARM_TLS_VARIANTS

log = logging.getLogger("monitoring.simfarm")

DEFAULT_HTTP_PORT = 18080
DEFAULT_HTTPS_PORT = 18443
RUNTIME_FILE = "farm.json"  # ports of the running farm, for ``simfarm set`` / ``list``
LOOPBACK_V4 = "127.0.0.1"
LOOPBACK_V6 = "::1"

Responder = Callable[[web.BaseRequest], web.StreamResponse]


def _response(page: Page) -> web.Response:
    return web.Response(status=page.status, body=page.body, headers=page.headers)


def _as_it_is(page: Page) -> Page:
    return page


def _json(data, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(data, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8", "Server": "simfarm"},
    )


def request_hostname(host_header: str) -> str:
    """The host name of a ``Host`` header, without port or trailing dot."""
    host = host_header.strip().lower()
    if host.startswith("["):  # an IPv6 literal: "[::1]:18080"
        return host[: host.find("]") + 1]
    return host.partition(":")[0].rstrip(".")


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK_V6, 0))
        return True
    except OSError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _listen_pair(port: int, with_ipv6: bool) -> list[socket.socket]:
    """Sockets on 127.0.0.1 and ::1 with the same port; port 0 picks one free on both."""
    for _attempt in range(50):
        first = _listen(LOOPBACK_V4, port)
        if not with_ipv6:
            return [first]
        chosen = first.getsockname()[1]
        try:
            return [first, _listen(LOOPBACK_V6, chosen)]
        except OSError as exc:
            first.close()
            if port or exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, "no port free on both 127.0.0.1 and ::1")


class Farm:
    """The site table and the server that answers for it.

    ``sites`` is a plain dict host → ``Site``; change it through ``put_site`` / ``set_scenario`` / ``remove_site``
    (from the farm's event loop thread) so the table is saved and caches are dropped. With ``restore`` (the default)
    the table saved in ``<state dir>/sites.json`` is laid over the sites given, so a scenario switched at run time
    survives a restart.
    """

    def __init__(
        self,
        state_dir: str | os.PathLike,
        sites: Iterable[Site] = (),
        *,
        http_port: int = DEFAULT_HTTP_PORT,
        https_port: int = DEFAULT_HTTPS_PORT,
        ipv6: bool = True,
        page_size: int = DEFAULT_PAGE_SIZE,
        slow_delay: float = 3.0,
        persist: bool = True,
        restore: bool = True,
        today: dt.date | None = None,
    ):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.sites: dict[str, Site] = {site.host: site for site in sites}
        if restore and self.sites_path.exists():
            for site in load_sites(self.sites_path):
                self.sites[site.host] = site
        self.requested_ports = (http_port, https_port)
        self.want_ipv6 = ipv6
        self.page_size = page_size
        self.slow_delay = slow_delay
        self.persist = persist
        self.today = today or dt.date.today()
        self.ca = CertificateAuthority(self.state_dir)
        self.contexts = ContextCache(self.ca)
        self.http_port: int | None = None
        self.https_port: int | None = None
        self.listen_ipv6 = False
        self._pages: dict[str, tuple[tuple, SchoolPages, dict[str, Responder]]] = {}
        self._runner: web.ServerRunner | None = None
        self._release: asyncio.Event | None = None
        self._warming: asyncio.Task | None = None
        self._held = 0
        self._no_site = self._not_found_page()

    # --- paths and addresses -----------------------------------------------------------------------------------

    @property
    def sites_path(self) -> Path:
        return self.state_dir / SITES_FILE

    @property
    def ca_path(self) -> Path:
        return self.ca.cert_path

    @property
    def control_url(self) -> str:
        return f"http://{LOOPBACK_V4}:{self.http_port}"

    @property
    def addresses(self) -> list[str]:
        hosts = [LOOPBACK_V4] + (["[::1]"] if self.listen_ipv6 else [])
        return [f"http://{h}:{self.http_port}" for h in hosts] + [f"https://{h}:{self.https_port}" for h in hosts]

    @property
    def held_connections(self) -> int:
        """Requests of ``timeout`` sites being held right now (drops to 0 when their clients give up)."""
        return self._held

    def info(self) -> dict:
        return {
            "pid": os.getpid(),
            "http_port": self.http_port,
            "https_port": self.https_port,
            "ipv6": self.listen_ipv6,
            "addresses": self.addresses,
            "control_url": self.control_url,
            "control_host": CONTROL_HOST,
            "ca_path": str(self.ca_path),
            "sites": len(self.sites),
            "scenarios": FARM_SCENARIOS,
            "tls_variants": FARM_TLS_VARIANTS,
        }

    # --- the site table ----------------------------------------------------------------------------------------

    def put_site(self, host: str, **fields) -> tuple[Site, bool]:
        """Add a site or change some of its fields; returns (site, created). Raises ``SiteError`` on bad input."""
        host = normalise_host(host)
        current = self.sites.get(host)
        site = current.changed(**fields) if current else Site(host=host, **fields)
        self.sites[host] = site
        self._save()
        return site, current is None

    def set_scenario(self, host: str, scenario: str, tls: str | None = None) -> Site:
        return self.put_site(host, scenario=scenario, tls=tls)[0]

    def remove_site(self, host: str) -> bool:
        removed = self.sites.pop(request_hostname(host), None)
        if removed is not None:
            self._pages.pop(removed.host, None)
            self.contexts.forget(removed.host)
            self._save()
        return removed is not None

    def _save(self) -> None:
        if self.persist:
            save_sites(self.sites_path, self.sites.values())

    def warm(self, hosts: Iterable[str] | None = None, *, pages: bool = True, certificates: bool = True) -> int:
        """Build the pages and certificate of these sites (all by default) ahead of their first request: about 1 ms
        a site for each, the certificate's mostly spent loading it into an ``SSLContext``."""
        count = 0
        for host in self.sites if hosts is None else hosts:
            site = self.sites.get(host)
            if site is None:
                continue
            if pages and site.scenario not in ("timeout", "refused"):
                self._responder(site)
            if certificates and site.tls != "none":
                self.contexts.get(site.host, site.tls)
            count += 1
        return count

    async def warm_gradually(self, chunk: int = 10) -> None:
        """``warm`` all sites in small steps between requests, so a large farm answers at once and is soon fast.

        All pages first, then all certificates: plain HTTP probing, the common case, is fast soonest."""
        hosts = list(self.sites)
        for step in ({"certificates": False}, {"pages": False}):
            for start in range(0, len(hosts), chunk):
                self.warm(hosts[start : start + chunk], **step)
                await asyncio.sleep(0)

    # --- pages -------------------------------------------------------------------------------------------------

    def _responder(self, site: Site) -> Responder:
        identity = (site.school, site.seed)
        entry = self._pages.get(site.host)
        if entry is None or entry[0] != identity:
            pages = SchoolPages(site.host, site.school, site.seed, today=self.today, page_size=self.page_size)
            entry = self._pages[site.host] = (identity, pages, {})
        _, pages, responders = entry
        key = (site.scenario, site.charset)
        responder = responders.get(key)
        if responder is None:
            responder = responders[key] = self._build(pages, site.scenario, site.charset)
        return responder

    @staticmethod
    def _build(pages: SchoolPages, scenario: str, charset: str = "utf-8") -> Responder:
        encoded = in_gbk if charset == "gbk" else _as_it_is
        if scenario == "dynamic":
            dynamic = pages.dynamic_page()  # every answer differs: rendered (and encoded) at each request
            return lambda request: _response(encoded(Page(200, dynamic.headers, dynamic.render())))
        if scenario.startswith("cloaking_"):
            normal = encoded(pages.healthy_page())
            if scenario == "cloaking_spider":
                spam, wants_spam = pages.spider_page(), lambda r: is_spider(r.headers.get("User-Agent", ""))
            elif scenario == "cloaking_mobile":
                spam, wants_spam = pages.mobile_redirect(), lambda r: is_mobile(r.headers.get("User-Agent", ""))
            elif scenario == "cloaking_referer_redirect":
                spam, wants_spam = pages.referer_redirect(), lambda r: from_search_engine(r.headers.get("Referer", ""))
            else:
                spam, wants_spam = pages.referer_page(), lambda r: from_search_engine(r.headers.get("Referer", ""))
            spam = encoded(spam)
            return lambda request: _response(spam if wants_spam(request) else normal)
        page = encoded(pages.page(scenario))
        return lambda request: _response(page)

    def _not_found_page(self) -> Page:
        body = (
            b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>404 no such site</title></head>'
            b"<body><h1>404 no such site</h1><p>The simulated school-site farm has no site by this name.</p>"
            b"</body></html>\n"
        )
        return Page(404, {"Content-Type": HTML_TYPE, "Server": "simfarm"}, body)

    # --- serving -----------------------------------------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        hostname = request_hostname(request.host)
        site = self.sites.get(hostname)
        if site is None:
            if hostname == CONTROL_HOST or hostname in LOOPBACK_NAMES:
                if request.secure:
                    return _json({"error": "the control API is on the HTTP port"}, 404)
                return await self._control(request)
            if hostname in SPAM_HOSTS:
                return await self._drop(request)  # the spam sites the pages point to are down
            return _response(self._no_site)
        if (not site.ipv6 and _over_ipv6(request)) or (site.tls == "none" and request.secure):
            return await self._drop(request)
        scenario = site.scenario
        if scenario == "refused":
            return await self._drop(request)
        if scenario == "timeout":
            return await self._hold(request)
        responder = self._responder(site)
        if scenario == "slow":
            # Waiting on the release event rather than sleeping lets a stopping farm answer at once.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.slow_delay)
        return responder(request)

    async def _drop(self, request: web.BaseRequest) -> web.StreamResponse:
        """Close the connection without any answer, with a TCP reset where the platform allows.

        The closest a shared listener can come to a dead site: the connection was accepted (the farm cannot know the
        site before the request names it), then it is reset, so the client sees "connection reset" / "server
        disconnected" instead of "connection refused".
        """
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError, AttributeError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        # aiohttp cancels this handler as soon as it learns the connection is lost; the timeout only guards
        # against a transport that never reports it.
        await asyncio.sleep(5)
        raise ConnectionResetError("connection dropped by the farm")

    async def _hold(self, request: web.BaseRequest) -> web.StreamResponse:
        """Read the request and never answer, until the client gives up (this handler is then cancelled) or the
        farm shuts down (then the connection is dropped)."""
        self._held += 1
        try:
            await self._release.wait()
        finally:
            self._held -= 1
        return await self._drop(request)

    # --- control API -------------------------------------------------------------------------------------------

    async def _control(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        method = request.method
        if path == "/":
            return _json(self.info()) if method in ("GET", "HEAD") else _json({"error": "method not allowed"}, 405)
        if path == "/sites":
            if method in ("GET", "HEAD"):
                return _json([site.to_dict() for site in self.sites.values()])
            return _json({"error": "method not allowed"}, 405)
        if not path.startswith("/sites/"):
            return _json({"error": "not found"}, 404)
        host = request_hostname(path.removeprefix("/sites/"))
        if method in ("GET", "HEAD"):
            site = self.sites.get(host)
            return _json(site.to_dict()) if site else _json({"error": f"no site {host}"}, 404)
        if method == "DELETE":
            if self.remove_site(host):
                return web.Response(status=204, headers={"Server": "simfarm"})
            return _json({"error": f"no site {host}"}, 404)
        if method == "PUT":
            try:
                fields = await request.json() if request.can_read_body else {}
            except ValueError:
                return _json({"error": "the body must be a JSON object"}, 400)
            if not isinstance(fields, dict):
                return _json({"error": "the body must be a JSON object"}, 400)
            fields.pop("host", None)
            try:
                site, created = self.put_site(host, **fields)
            except (SiteError, TypeError) as exc:
                return _json({"error": str(exc)}, 400)
            log.info("site %s: scenario %s, tls %s, ipv6 %s", site.host, site.scenario, site.tls, site.ipv6)
            return _json(site.to_dict(), 201 if created else 200)
        return _json({"error": "method not allowed"}, 405)

    # --- life cycle --------------------------------------------------------------------------------------------

    def _sni(self, ssl_object, server_name: str | None, _initial: ssl.SSLContext):
        if server_name is None:
            return None  # no name: the listener's own certificate, routed by Host header
        site = self.sites.get(server_name.lower().rstrip("."))
        if site is None:
            return None  # unknown name: the listener's certificate; a client that goes on gets the 404 page
        if site.tls == "none":
            return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE  # an HTTP-only site: no TLS for it
        try:
            ssl_object.context = self.contexts.get(site.host, site.tls)
        except Exception:  # noqa: BLE001 - a failed certificate must fail this handshake only, never the farm
            log.exception("certificate for %s (%s) failed", site.host, site.tls)
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        return None

    async def start(self, *, warm: bool = False) -> None:
        """Bind the listeners and start answering; ports are in ``http_port`` / ``https_port`` afterwards.

        With ``warm`` the pages of every site are then built in the background (see ``warm_gradually``).
        """
        self._release = asyncio.Event()
        self.listen_ipv6 = self.want_ipv6 and ipv6_available()
        http_socks = _listen_pair(self.requested_ports[0], self.listen_ipv6)
        try:
            https_socks = _listen_pair(self.requested_ports[1], self.listen_ipv6)
        except OSError:
            for sock in http_socks:
                sock.close()
            raise
        self.http_port = http_socks[0].getsockname()[1]
        self.https_port = https_socks[0].getsockname()[1]
        tls = self.contexts.default(("localhost", LOOPBACK_V4, LOOPBACK_V6, CONTROL_HOST))
        tls.sni_callback = self._sni
        server = web.Server(self._handle, handler_cancellation=True, access_log=None, keepalive_timeout=75)
        self._runner = web.ServerRunner(server, shutdown_timeout=1.0)
        await self._runner.setup()
        for sock in http_socks:
            await web.SockSite(self._runner, sock).start()
        for sock in https_socks:
            await web.SockSite(self._runner, sock, ssl_context=tls).start()
        if warm:
            self._warming = asyncio.create_task(self.warm_gradually())
        self._save()
        runtime = self.state_dir / RUNTIME_FILE
        runtime.write_text(json.dumps(self.info(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        log.info("farm of %d sites on %s", len(self.sites), ", ".join(self.addresses))

    async def stop(self) -> None:
        """Release held requests, close the listeners and every connection."""
        if self._runner is None:
            return
        self._release.set()
        if self._warming is not None:
            self._warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warming
            self._warming = None
        await asyncio.sleep(0)
        await self._runner.cleanup()
        self._runner = None
        self.contexts.close()
        runtime = self.state_dir / RUNTIME_FILE
        with contextlib.suppress(OSError, ValueError):
            if json.loads(runtime.read_text(encoding="utf-8")).get("pid") == os.getpid():
                runtime.unlink()

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()


def _over_ipv6(request: web.BaseRequest) -> bool:
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    return isinstance(sockname, tuple) and len(sockname) == 4
