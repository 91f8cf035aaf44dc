"""The async probe engine: many checks at once over one reused HTTP session, bounded globally and per host.

Design notes (architecture.md §5, the hot path):

* one ``aiohttp.ClientSession`` per engine (plus one pinned to IPv6 for the ipv6 kind), kept across sweeps so that
  keep-alive connections and the DNS cache are reused; never a session per request;
* a sweep runs ``concurrency`` worker tasks pulling from the target iterator, not one task per target; a target whose
  host is already at ``per_host`` probes is set aside and run when that host frees up, so a busy site never stalls
  the workers;
* per check the Python work is small: one hash of the body, a handful of header look-ups, one result object.
  Per-phase tracing (aiohttp TraceConfig) costs throughput, so it is opt-in (``trace_phases=True``). The garbage
  collector's young-generation threshold is raised while an engine runs (``GC_THRESHOLD``): with CPython's default
  it ran every few probes and took a quarter of the engine's CPU;
* several sweeps may run at once on one engine (the scheduler starts one per claimed batch); they share its global
  and per-host bounds, and a small batch gets no more worker tasks than it has targets;
* nothing blocks the loop: public names resolve in the default executor, the system trust store loads in a thread,
  heavy content analysis can run in a thread or process pool (``analyse_in``);
* every target yields exactly one result: failures become ``error`` codes, and an unexpected exception becomes
  ``error='internal'`` instead of escaping.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import gc
import hashlib
import multiprocessing
import os
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import yarl

from monitoring.vocabulary import CONTENT, DNS, HTTP, IPV6, TLS

from . import tls as tlsmod
from .resolver import AddressNotAllowed, ProjectResolver, guarded_socket, is_loopback
from .targets import (
    DEFAULT_TIMEOUTS,
    ERROR_CONNECT,
    ERROR_DNS,
    ERROR_HTTP,
    ERROR_INTERNAL,
    ERROR_INVALID_URL,
    ERROR_PROTOCOL,
    ERROR_REFUSED,
    ERROR_TIMEOUT,
    ERROR_TLS,
    ERROR_TOO_LARGE,
    VARIANT_MOBILE,
    VARIANT_REFERER,
    VARIANT_SPIDER,
    ProbeResult,
    ProbeTarget,
    Timeouts,
    TLSInfo,
    storable,
)

DEFAULT_USER_AGENT = "EduSec-Monitor/1.0 (+https://edusec.example/monitor)"
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
SPIDER_USER_AGENT = "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"
MOBILE_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
SEARCH_REFERER = "https://www.baidu.com/s?wd="

# The few response headers worth keeping: software banners (stale sites), freshness, and what the body is.
HEADER_SUBSET = ("Server", "X-Powered-By", "Last-Modified", "Content-Type", "Content-Length")
_HEADER_KEYS = tuple((name, name.lower()) for name in HEADER_SUBSET)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

ANALYSE_MODES = ("inline", "thread", "process")


# The cyclic garbage collector's first threshold while an engine runs (CPython's default is 700). Every probe makes
# and drops a few hundred short-lived containers (aiohttp's request, response, protocol, futures); with the default a
# young-generation collection runs every few probes and, in a process with Django loaded, costs about 0.5 ms each:
# measured 20-120 µs per probe, a quarter of the engine's own CPU. Nothing in a probe depends on cycles being freed
# promptly; the memory they hold stays bounded by the threshold.
GC_THRESHOLD = 10_000


def relax_gc(threshold: int = GC_THRESHOLD) -> None:
    """Raise the collector's first threshold to at least ``threshold`` (never lowers it). Process-wide."""
    first, second, third = gc.get_threshold()
    if first and first < threshold:
        gc.set_threshold(threshold, second, third)


class _BodyTooLarge(Exception):
    pass


def body_hash(body: bytes) -> bytes:
    """SHA-256 truncated to 16 bytes: plenty against accidental collisions, and with the SHA extensions of current
    x86 CPUs the fastest stdlib hash (30 KB: ~18 µs against ~33 µs for blake2b and ~40 µs for md5)."""
    return hashlib.sha256(body).digest()[:16]


def host_of(url: str) -> str:
    """The host name of a URL, lowercased; a malformed URL is its own key (its probe will report the error)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return url


class HostLimiter:
    """At most ``limit`` probes per host at once.

    Only busy hosts have entries, so sweeping 50,000 sites leaves nothing behind. A released slot passes directly to
    the oldest waiter, which keeps the order fair.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self._active: dict[str, int] = {}
        self._waiters: dict[str, deque[asyncio.Future]] = {}

    def try_acquire(self, host: str) -> bool:
        count = self._active.get(host, 0)
        if count >= self.limit:
            return False
        self._active[host] = count + 1
        return True

    async def acquire(self, host: str) -> None:
        if self.try_acquire(host):
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(host, deque()).append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(host)  # the slot was handed over just as we were cancelled: pass it on
            else:
                waiters = self._waiters.get(host)
                if waiters is not None and future in waiters:
                    waiters.remove(future)
                    if not waiters:
                        del self._waiters[host]
            raise

    def release(self, host: str) -> None:
        waiters = self._waiters.get(host)
        if waiters is not None:
            while waiters:
                future = waiters.popleft()
                if not future.done():
                    if not waiters:
                        del self._waiters[host]
                    future.set_result(None)  # the slot changes hands; the count stays
                    return
            del self._waiters[host]
        count = self._active[host] - 1
        if count:
            self._active[host] = count
        else:
            del self._active[host]

    def active(self, host: str) -> int:
        return self._active.get(host, 0)


# --- Optional per-phase tracing ----------------------------------------------------------------------------------
# The request context is the result's ``phases`` dict; the per-request namespace carries the start stamps.


async def _on_dns_start(session, ctx, params) -> None:
    ctx.dns_t0 = time.perf_counter()


async def _on_dns_end(session, ctx, params) -> None:
    phases = ctx.trace_request_ctx
    phases["dns"] = phases.get("dns", 0.0) + (time.perf_counter() - ctx.dns_t0) * 1000


async def _on_connect_start(session, ctx, params) -> None:
    ctx.connect_t0 = time.perf_counter()
    ctx.dns_before = ctx.trace_request_ctx.get("dns", 0.0)


async def _on_connect_end(session, ctx, params) -> None:
    # aiohttp's connection span includes the lookup; subtract it so 'connect' is TCP (+ TLS for https) only.
    phases = ctx.trace_request_ctx
    span = (time.perf_counter() - ctx.connect_t0) * 1000 - (phases.get("dns", 0.0) - ctx.dns_before)
    phases["connect"] = phases.get("connect", 0.0) + span


def _phase_trace_config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_dns_resolvehost_start.append(_on_dns_start)
    config.on_dns_resolvehost_end.append(_on_dns_end)
    config.on_connection_create_start.append(_on_connect_start)
    config.on_connection_create_end.append(_on_connect_end)
    return config


def _redirects(history) -> list[tuple[int, str]]:
    """(status, Location) of each hop; a Location is the site's own bytes (``storable``)."""
    return [(response.status, storable(response.headers.get("Location", ""))) for response in history]


def _fail(result: ProbeResult, error: str, detail: str) -> ProbeResult:
    result.ok = False
    result.error = error
    result.error_detail = storable(detail)
    return result


def _os_error_text(exc: BaseException) -> str:
    """An operating-system error as people read it in an alert: "Connection reset by peer", not "[Errno 104]
    Connection reset by peer"."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _connector_error(result: ProbeResult, exc: aiohttp.ClientConnectorError) -> None:
    os_error = exc.os_error
    if isinstance(os_error, AddressNotAllowed) or "address not allowed" in str(os_error):
        _fail(result, ERROR_CONNECT, str(os_error))
    elif isinstance(exc, aiohttp.ClientConnectorDNSError):
        _fail(result, ERROR_DNS, str(os_error) or f"{exc.host}: name not resolved")
    elif isinstance(os_error, ConnectionRefusedError):
        _fail(result, ERROR_REFUSED, f"connection refused by {exc.host}:{exc.port}")
    else:
        _fail(result, ERROR_CONNECT, _os_error_text(os_error))


class Engine:
    """Probe many targets concurrently. Use as ``async with Engine(...) as engine`` or call start()/close().

    ``analyse(result)`` (optional) receives every result that carries a body (wanted and changed) and its return value
    lands in ``result.analysis``; ``analyse_in`` runs it on the loop ('inline': only for cheap analysers), in a thread
    pool or in a process pool ('process': the function must be a picklable top-level function).

    Page fetches (http, content, ipv6) do not verify the certificate unless ``verify_fetch``: a site whose certificate
    expired still answers visitors who click through, and its page must still be analysed. The certificate is the tls
    kind's business, which always verifies (against the system store plus ``ca_file``).
    """

    def __init__(
        self,
        concurrency: int = 100,
        per_host: int = 2,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        ca_file: str | os.PathLike | None = None,
        port_map: dict[int, int] | None = None,
        allow_public: bool = False,
        max_body: int = 2_000_000,
        user_agent: str = DEFAULT_USER_AGENT,
        *,
        analyse: Callable[[ProbeResult], Any] | None = None,
        analyse_in: str = "inline",
        analysis_workers: int | None = None,
        analysis_start_method: str = "forkserver",
        analysis_preload: Iterable[str] = (),
        gc_threshold: int | None = GC_THRESHOLD,
        trace_phases: bool = False,
        verify_fetch: bool = False,
        keepalive_timeout: float | None = 30.0,
        dns_ttl: float = 60.0,
        max_redirects: int = 5,
        hosts: dict[str, list[str]] | None = None,
        ipv6_hosts: Collection[str] | Callable[[str], bool] | None = None,
        resolver: ProjectResolver | None = None,
    ):
        if analyse_in not in ANALYSE_MODES:
            raise ValueError(f"analyse_in must be one of {ANALYSE_MODES}")
        self.concurrency = concurrency
        self.per_host = per_host
        self.timeouts = timeouts
        self.ca_file = os.fspath(ca_file) if ca_file else None
        self.allow_public = allow_public
        self.max_body = max_body
        self.user_agent = user_agent
        self.analyse = analyse
        self.analyse_in = analyse_in
        self.analysis_workers = analysis_workers or os.cpu_count() or 1
        self.analysis_start_method = analysis_start_method
        self.analysis_preload = list(analysis_preload)
        self.gc_threshold = gc_threshold
        self.trace_phases = trace_phases
        self.verify_fetch = verify_fetch
        self.keepalive_timeout = keepalive_timeout
        self.dns_ttl = dns_ttl
        self.max_redirects = max_redirects
        self.resolver = resolver or ProjectResolver(
            port_map=port_map, allow_public=allow_public, hosts=hosts, ipv6_hosts=ipv6_hosts, ttl=dns_ttl
        )
        self._session: aiohttp.ClientSession | None = None
        self._session6: aiohttp.ClientSession | None = None
        self._ssl: ssl.SSLContext | None = None
        self._inspect_ssl: ssl.SSLContext | None = None
        self._global: asyncio.Semaphore | None = None
        self._hosts = HostLimiter(per_host)
        self._executor: concurrent.futures.Executor | None = None
        self._batcher: _Batcher | None = None
        self._client_timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}
        self._start_lock = asyncio.Lock()

    # --- lifecycle ------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        async with self._start_lock:  # two first probes at once must not build two sessions
            if self._session is None:
                await self._start()

    async def _start(self) -> None:
        if self.gc_threshold:
            relax_gc(self.gc_threshold)
        loop = asyncio.get_running_loop()
        # Reading the system trust store is file I/O: keep it off the loop.
        self._ssl = await loop.run_in_executor(None, tlsmod.client_context, self.ca_file)
        self._inspect_ssl = tlsmod.inspection_context()
        self._global = asyncio.Semaphore(self.concurrency)
        self._default_timeout = self._client_timeout(self.timeouts)
        self._session = self._new_session(socket.AF_UNSPEC)
        self._session6 = self._new_session(socket.AF_INET6)
        if self.analyse is not None and self.analyse_in == "thread":
            self._executor = concurrent.futures.ThreadPoolExecutor(self.analysis_workers, "edusec-analyse")
        elif self.analyse is not None and self.analyse_in == "process":
            context = multiprocessing.get_context(self.analysis_start_method)
            if self.analysis_preload and self.analysis_start_method == "forkserver":
                # Imported once by the fork server; every pool worker forks from it with them loaded.
                context.set_forkserver_preload(self.analysis_preload)
            self._executor = concurrent.futures.ProcessPoolExecutor(self.analysis_workers, mp_context=context)
        if self._executor is not None:
            self._batcher = _Batcher(self._executor, self.analyse, self.analysis_workers)

    def _new_session(self, family: int) -> aiohttp.ClientSession:
        # keepalive_timeout=None: a new connection per request, for one-off sweeps over many sites that will not be
        # revisited before their servers drop idle connections anyway (a pooled connection costs memory and GC time).
        if self.keepalive_timeout is None:
            keepalive = {"force_close": True}
        else:
            keepalive = {"keepalive_timeout": self.keepalive_timeout}
        connector = aiohttp.TCPConnector(
            limit=self.concurrency,
            limit_per_host=self.per_host,
            # The resolver keeps the shared cache (also used by the dns, ipv6 and tls kinds); a second cache in each
            # connector would only add bookkeeping to every new connection.
            use_dns_cache=False,
            resolver=self.resolver,
            family=family,
            ssl=self._ssl if self.verify_fetch else self._inspect_ssl,
            **keepalive,
            enable_cleanup_closed=True,
            socket_factory=None if self.allow_public else guarded_socket,
        )
        return aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.user_agent},
            cookie_jar=aiohttp.DummyCookieJar(),  # no cookies carried from one site (or check) to the next
            timeout=self._default_timeout,
            trace_configs=[_phase_trace_config()] if self.trace_phases else None,
        )

    async def close(self) -> None:
        for session in (self._session, self._session6):
            if session is not None:
                await session.close()
        self._session = self._session6 = None
        await self.resolver.close()
        if self._executor is not None:
            executor, self._executor, self._batcher = self._executor, None, None
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    def _client_timeout(self, t: Timeouts) -> aiohttp.ClientTimeout:
        timeout = self._client_timeouts.get(t)
        if timeout is None:
            # aiohttp's phases: 'connect' = pool wait + lookup + TCP + TLS, 'sock_connect' = TCP + TLS,
            # 'sock_read' = the longest silence while waiting for the headers or the next body chunk.
            timeout = self._client_timeouts[t] = aiohttp.ClientTimeout(
                total=t.total, connect=t.dns + t.connect + t.tls, sock_connect=t.connect + t.tls, sock_read=t.ttfb
            )
        return timeout

    # --- public probing ---------------------------------------------------------------------------------------------

    async def probe(self, target: ProbeTarget) -> ProbeResult:
        """One target, within the same global and per-host bounds as a sweep. Never raises (except cancellation)."""
        if self._session is None:
            await self.start()
        host = target.host or host_of(target.url)
        await self._hosts.acquire(host)
        try:
            async with self._global:
                result = await self._run(target)
        finally:
            self._hosts.release(host)
        if result.body is not None and self.analyse is not None:
            await self._analyse(result)
        return result

    async def sweep(self, targets: Iterable[ProbeTarget]) -> AsyncIterator[ProbeResult]:
        """Yield one result per target, in completion order.

        ``concurrency`` workers pull targets lazily from the iterable. If you may stop iterating early, wrap the call
        in ``contextlib.aclosing`` so the workers are cancelled at once rather than at garbage collection.
        """
        if self._session is None:
            await self.start()
        workers = self.concurrency
        if isinstance(targets, Collection):
            # A small batch (the scheduler sends whatever fell due in the last moment) needs no more workers than
            # targets; several sweeps may run at once on one engine and share its global and per-host bounds.
            workers = max(1, min(workers, len(targets)))
        run = _Sweep(self, iter(targets), workers)
        try:
            while True:
                item = await run.out.get()
                if item is _DONE:
                    break
                yield item
            if run.failure is not None:
                raise run.failure
        finally:
            await run.cancel()

    # --- kinds --------------------------------------------------------------------------------------------------------

    async def _run(self, target: ProbeTarget) -> ProbeResult:
        kind = target.kind
        started = time.time()
        try:
            if kind == HTTP or kind == CONTENT:
                result = await self._probe_http(target)
            elif kind == TLS:
                result = await self._probe_tls(target)
            elif kind == DNS:
                result = await self._probe_dns(target)
            elif kind == IPV6:
                result = await self._probe_ipv6(target)
            else:
                result = _fail(ProbeResult(target.check_id, kind), ERROR_INTERNAL, f"unknown check kind {kind!r}")
        except Exception as exc:  # a bug must cost one result its data, never the sweep its results
            result = _fail(ProbeResult(target.check_id, kind), ERROR_INTERNAL, repr(exc)[:500])
        result.started_at = started
        result.context = target.context
        return result

    async def _fetch(
        self,
        session: aiohttp.ClientSession,
        url: str,
        headers: dict[str, str] | None,
        timeout: aiohttp.ClientTimeout,
        result: ProbeResult,
        follow: bool = True,
    ) -> bytes | None:
        """GET ``url`` following redirects (``follow``; else a redirect's hop is added to ``result.redirects``); fill
        status, timings, redirects, headers. None when it failed."""
        stage = "ttfb"
        t0 = time.perf_counter()
        try:
            async with session.get(
                url,
                headers=headers,
                timeout=timeout,
                allow_redirects=follow,
                max_redirects=self.max_redirects,
                trace_request_ctx=result.phases if self.trace_phases else None,
            ) as resp:
                t1 = time.perf_counter()
                stage = "body"
                result.status = resp.status
                if resp.history:
                    result.redirects = _redirects(resp.history)
                elif not follow and resp.status in REDIRECT_STATUSES:
                    result.redirects.append((resp.status, storable(resp.headers.get("Location", ""))))
                result.final_url = str(resp.url)  # yarl percent-encodes what is not ASCII
                found = resp.headers
                kept = result.headers
                for name, key in _HEADER_KEYS:
                    value = found.get(name)
                    if value is not None:
                        kept[key] = storable(value)
                body = await self._read_body(resp)
        except Exception as exc:
            self._fetch_error(result, exc, stage)
            return None
        t2 = time.perf_counter()
        result.latency_ms = total = (t2 - t0) * 1000
        phases = result.phases
        phases["ttfb"] = (t1 - t0) * 1000
        phases["total"] = total
        return body

    def _fetch_error(self, result: ProbeResult, exc: Exception, stage: str) -> None:
        """Map what aiohttp raised to the result's error code. Order matters: the classes nest."""
        if isinstance(exc, _BodyTooLarge):
            _fail(result, ERROR_TOO_LARGE, f"body larger than {self.max_body} bytes")
        elif isinstance(exc, aiohttp.TooManyRedirects):
            result.redirects = _redirects(exc.history)
            _fail(result, ERROR_HTTP, f"more than {self.max_redirects} redirects")
        elif isinstance(exc, aiohttp.ClientConnectorCertificateError):
            cert_error = exc.certificate_error
            kind = tlsmod.classify_verify_error(cert_error) if isinstance(cert_error, ssl.SSLError) else "other"
            _fail(result, ERROR_TLS, f"{kind}: {cert_error}")
        elif isinstance(exc, aiohttp.ClientSSLError):
            _fail(result, ERROR_TLS, str(exc.os_error))
        elif isinstance(exc, aiohttp.ClientConnectorError):
            _connector_error(result, exc)
        elif isinstance(exc, aiohttp.ConnectionTimeoutError):
            _fail(result, ERROR_TIMEOUT, "connect")
        elif isinstance(exc, aiohttp.SocketTimeoutError):
            _fail(result, ERROR_TIMEOUT, stage)
        elif isinstance(exc, TimeoutError):
            _fail(result, ERROR_TIMEOUT, "total")
        elif isinstance(exc, aiohttp.ServerDisconnectedError):
            _fail(result, ERROR_CONNECT, str(exc) or "server closed the connection")
        elif isinstance(exc, aiohttp.ClientOSError):
            _fail(result, ERROR_CONNECT, _os_error_text(exc))
        elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
            _fail(result, ERROR_INVALID_URL, str(exc))
        elif isinstance(exc, aiohttp.ClientError):  # malformed status line or headers, truncated body
            _fail(result, ERROR_PROTOCOL, f"{type(exc).__name__}: {exc}"[:500])
        else:
            _fail(result, ERROR_INTERNAL, repr(exc)[:500])

    async def _read_body(self, resp: aiohttp.ClientResponse) -> bytes:
        limit = self.max_body
        length = resp.content_length
        if length is not None and "Content-Encoding" not in resp.headers:
            # The usual case: a declared length we can judge before reading, then one read.
            if length > limit:
                raise _BodyTooLarge
            return await resp.read()
        # Chunked or compressed: count while reading (a small gzip can inflate to anything).
        chunks = []
        size = 0
        content = resp.content
        while chunk := await content.readany():
            size += len(chunk)
            if size > limit:
                raise _BodyTooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def _probe_http(self, target: ProbeTarget) -> ProbeResult:
        result = ProbeResult(target.check_id, target.kind)
        timeout = self._default_timeout if target.timeout is None else self._client_timeout(target.timeout)
        # A content check looks at the page as a visitor's browser would; availability checks say who they are.
        headers = _BROWSER_HEADERS if target.kind == CONTENT else None
        body = await self._fetch(self._session, target.url, headers, timeout, result)
        if body is None:
            return result
        result.body_hash = digest = body_hash(body)
        result.body_changed = changed = digest != target.last_body_hash
        if result.status < 400:
            result.ok = True
        else:
            _fail(result, ERROR_HTTP, f"HTTP {result.status}")
        variant_differs = False
        if target.variants:
            variant_differs = await self._fetch_variants(target, result, digest, timeout)
        if target.want_body and (changed or variant_differs):
            result.body = body
        return result

    async def _fetch_variants(
        self, target: ProbeTarget, result: ProbeResult, digest: bytes, timeout: aiohttp.ClientTimeout
    ) -> bool:
        """Fetch the page as a spider, a phone, a visitor from a search engine. True if one differs from the page.

        One after the other rather than at once: they share the per-host budget of the site.
        """
        differs = False
        host = target.host or host_of(target.url)
        for name in target.variants:
            headers = _variant_headers(name, host)
            if headers is None:
                result.variant_meta[name] = {"status": None, "final_url": "", "body_hash": None, "error": "unknown"}
                continue
            scratch = ProbeResult(target.check_id, target.kind)
            body, redirected_to = await self._fetch_hop_by_hop(target.url, headers, timeout, scratch)
            meta = {"status": scratch.status, "final_url": scratch.final_url, "body_hash": None, "error": scratch.error,
                    "redirected_to": redirected_to}  # fmt: skip
            if body is not None:
                meta["body_hash"] = variant_digest = body_hash(body)
                result.variants[name] = body
                differs = differs or variant_digest != digest or scratch.final_url != result.final_url
            elif redirected_to and redirected_to != result.final_url:
                differs = True  # sent elsewhere, and that could not be fetched: where to is the evidence
            result.variant_meta[name] = meta
        return differs

    async def _fetch_hop_by_hop(
        self, url: str, headers: dict[str, str], timeout: aiohttp.ClientTimeout, result: ProbeResult
    ) -> tuple[bytes | None, str]:
        """``_fetch`` following the redirects one at a time, and where they led: the last redirect's target (absolute;
        '' when there was none), known even when that target cannot be fetched. Cloaking sites redirect search
        visitors to a spam site that is often down, or out of reach of a closed education network."""
        redirected_to = ""
        for _hop in range(self.max_redirects + 1):
            hops = len(result.redirects)
            body = await self._fetch(self._session, url, headers, timeout, result, follow=False)
            if body is None or len(result.redirects) == hops or not result.redirects[-1][1]:
                return body, redirected_to
            try:
                url = redirected_to = str(yarl.URL(url).join(yarl.URL(result.redirects[-1][1])))
            except ValueError as exc:
                _fail(result, ERROR_INVALID_URL, f"redirect to {result.redirects[-1][1]!r}: {exc}")
                return None, redirected_to
            if not url.startswith(("http://", "https://")):
                _fail(result, ERROR_INVALID_URL, f"redirect to {url!r}")
                return None, redirected_to
        _fail(result, ERROR_HTTP, f"more than {self.max_redirects} redirects")
        return None, redirected_to

    async def _probe_dns(self, target: ProbeTarget) -> ProbeResult:
        result = ProbeResult(target.check_id, target.kind)
        host = target.host or host_of(target.url)
        timeouts = target.timeout or self.timeouts
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(timeouts.dns):
                found = await self.resolver.resolve(host, 0, socket.AF_UNSPEC)
        except TimeoutError:
            return _fail(result, ERROR_TIMEOUT, "dns")
        except AddressNotAllowed as exc:
            return _fail(result, ERROR_CONNECT, str(exc))
        except OSError as exc:
            return _fail(result, ERROR_DNS, str(exc) or f"{host}: name not resolved")
        result.latency_ms = (time.perf_counter() - t0) * 1000
        result.phases["dns"] = result.latency_ms
        result.dns = list(dict.fromkeys(r["host"] for r in found))
        result.ok = bool(result.dns)
        if not result.ok:
            _fail(result, ERROR_DNS, f"{host}: no address")
        return result

    async def _probe_ipv6(self, target: ProbeTarget) -> ProbeResult:
        """AAAA present, and the site answers over IPv6 (with its own Host header and SNI) with a status < 400."""
        result = ProbeResult(target.check_id, target.kind)
        host = target.host or host_of(target.url)
        timeouts = target.timeout or self.timeouts
        info = result.ipv6 = {"addresses": [], "status": None, "reachable": False, "error": ""}
        try:
            async with asyncio.timeout(timeouts.dns):
                found = await self.resolver.resolve(host, 0, socket.AF_INET6)
        except (OSError, TimeoutError) as exc:
            info["error"] = ERROR_DNS
            return _fail(result, ERROR_DNS, str(exc) or f"{host}: no AAAA record")
        result.dns = info["addresses"] = list(dict.fromkeys(r["host"] for r in found))
        timeout = self._default_timeout if target.timeout is None else self._client_timeout(target.timeout)
        body = await self._fetch(self._session6, target.url, None, timeout, result)
        info["status"] = result.status
        if body is None:
            info["error"] = result.error
            return result
        result.body_hash = body_hash(body)
        if result.status < 400:
            result.ok = info["reachable"] = True
        else:
            info["error"] = ERROR_HTTP
            _fail(result, ERROR_HTTP, f"HTTP {result.status} over IPv6")
        return result

    async def _probe_tls(self, target: ProbeTarget) -> ProbeResult:
        result = ProbeResult(target.check_id, target.kind)
        timeouts = target.timeout or self.timeouts
        parts = urlsplit(target.url if "//" in target.url else f"https://{target.url}")
        host = parts.hostname or target.host
        port = parts.port or 443
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(timeouts.total):
                address, port, dns_ms = await self._tls_address(host, port, timeouts)
                result.dns = [address]
                try:
                    der, protocol, cipher, phases = await tlsmod.handshake(
                        address, port, host, self._ssl, timeouts.connect, timeouts.tls
                    )
                    info = TLSInfo(valid=True)
                except ssl.SSLCertVerificationError as exc:
                    info = TLSInfo(valid=False, verify_error=tlsmod.classify_verify_error(exc))
                    _fail(result, ERROR_TLS, f"{info.verify_error}: {exc.verify_message or exc}")
                    der, protocol, cipher, phases = await self._inspect(address, port, host, timeouts)
                except ssl.SSLError as exc:
                    # Not a certificate problem: maybe a protocol or cipher too old for the verifying context.
                    info = TLSInfo(valid=False, verify_error="other")
                    _fail(result, ERROR_TLS, f"handshake failed: {exc.reason or exc}")
                    der, protocol, cipher, phases = await self._inspect(address, port, host, timeouts)
        except tlsmod.HandshakeTimeout as exc:
            return _fail(result, ERROR_TIMEOUT, exc.phase)
        except TimeoutError:
            return _fail(result, ERROR_TIMEOUT, "total")
        except AddressNotAllowed as exc:
            return _fail(result, ERROR_CONNECT, str(exc))
        except ConnectionRefusedError:
            return _fail(result, ERROR_REFUSED, f"connection refused by {host}:{port}")
        except ssl.SSLError as exc:  # the inspection handshake failed too
            return _fail(result, ERROR_TLS, result.error_detail or f"handshake failed: {exc.reason or exc}")
        except _DNSFailure as exc:
            return _fail(result, ERROR_DNS, str(exc))
        except OSError as exc:
            return _fail(result, ERROR_CONNECT, _os_error_text(exc))
        result.latency_ms = (time.perf_counter() - t0) * 1000
        result.phases = {"dns": dns_ms, **phases, "total": result.latency_ms}
        info.protocol = protocol
        info.cipher = cipher
        if der:
            tlsmod.certificate_info(der, info)
        result.tls = info
        result.ok = info.valid
        return result

    async def _tls_address(self, host: str, port: int, timeouts: Timeouts) -> tuple[str, int, float]:
        """The address to shake hands with: the resolver (policy, port map, cache) for names, as is for IP literals."""
        t0 = time.perf_counter()
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError:
            pass
        else:
            if not self.allow_public and not is_loopback(host):
                raise AddressNotAllowed(host)
            return host, port, 0.0
        try:
            async with asyncio.timeout(timeouts.dns):
                found = await self.resolver.resolve(host, port, socket.AF_UNSPEC)
        except AddressNotAllowed:
            raise
        except TimeoutError:
            raise tlsmod.HandshakeTimeout("dns") from None
        except OSError as exc:
            raise _DNSFailure(str(exc) or f"{host}: name not resolved") from None
        return found[0]["host"], found[0]["port"], (time.perf_counter() - t0) * 1000

    async def _inspect(self, address: str, port: int, host: str, timeouts: Timeouts):
        return await tlsmod.handshake(address, port, host, self._inspect_ssl, timeouts.connect, timeouts.tls)

    # --- analysis ---------------------------------------------------------------------------------------------------

    async def _analyse(self, result: ProbeResult) -> None:
        if self._batcher is None:
            try:
                result.analysis = self.analyse(result)
            except Exception as exc:
                result.analysis_error = repr(exc)[:500]
        else:
            result.analysis, result.analysis_error = await self._batcher.submit(result)


def _analyse_batch(analyse: Callable[[ProbeResult], Any], results: list[ProbeResult]) -> list[tuple[Any, str]]:
    """Runs in the pool: one round trip for several results; an analyser error stays with its own result."""
    outcomes = []
    for result in results:
        try:
            outcomes.append((analyse(result), ""))
        except Exception as exc:
            outcomes.append((None, repr(exc)[:500]))
    return outcomes


class _Batcher:
    """Hands results to a thread or process pool in batches.

    One pool round trip per result costs more than a light analyser (pickling, pipe, wake-ups): about 0.5 ms of the
    loop's CPU for a process pool. Results that arrive while all pool workers are busy wait and leave together, so
    the batches grow with the load and stay at one result when idle.
    """

    def __init__(self, executor: concurrent.futures.Executor, analyse: Callable, workers: int, max_batch: int = 32):
        self.executor = executor
        self.analyse = analyse
        self.max_in_flight = 2 * workers  # keeps every worker busy while the next batch travels
        self.max_batch = max_batch
        self.pending: list[tuple[ProbeResult, asyncio.Future]] = []
        self.in_flight = 0
        self.flush_scheduled = False

    def submit(self, result: ProbeResult) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending.append((result, future))
        if not self.flush_scheduled:
            # Flush on the next loop turn: every result finished in this turn joins the batch.
            self.flush_scheduled = True
            loop.call_soon(self.flush)
        return future

    def flush(self) -> None:
        self.flush_scheduled = False
        while self.pending and self.in_flight < self.max_in_flight:
            batch = self.pending[: self.max_batch]
            del self.pending[: self.max_batch]
            self.in_flight += 1
            try:
                done = asyncio.wrap_future(self.executor.submit(_analyse_batch, self.analyse, [r for r, _ in batch]))
            except Exception as exc:  # pool shut down or broken
                self.finish(batch, None, exc)
                continue
            done.add_done_callback(functools.partial(self.finished, batch))

    def finished(self, batch: list, done: asyncio.Future) -> None:
        if done.cancelled():
            self.finish(batch, None, RuntimeError("analysis cancelled"))
        elif done.exception() is not None:
            self.finish(batch, None, done.exception())
        else:
            self.finish(batch, done.result(), None)
        if self.pending:
            self.flush()

    def finish(self, batch: list, outcomes: list | None, error: BaseException | None) -> None:
        self.in_flight -= 1
        for index, (_, future) in enumerate(batch):
            if not future.done():
                future.set_result(outcomes[index] if outcomes is not None else (None, repr(error)[:500]))


class _DNSFailure(Exception):
    pass


_BROWSER_HEADERS = {"User-Agent": BROWSER_USER_AGENT, "Accept-Language": "zh-CN,zh;q=0.9"}


def _variant_headers(name: str, host: str) -> dict[str, str] | None:
    if name == VARIANT_SPIDER:
        return {"User-Agent": SPIDER_USER_AGENT}
    if name == VARIANT_MOBILE:
        return {"User-Agent": MOBILE_USER_AGENT, "Accept-Language": "zh-CN,zh;q=0.9"}
    if name == VARIANT_REFERER:
        return {**_BROWSER_HEADERS, "Referer": SEARCH_REFERER + quote(host)}
    return None


_DONE = object()


class _Sweep:
    """State of one sweep: the shared target iterator, targets set aside for busy hosts, the result queue."""

    def __init__(self, engine: Engine, targets: Iterator[ProbeTarget], workers: int):
        self.engine = engine
        self.targets = targets
        self.exhausted = False
        self.failure: BaseException | None = None
        self.ready: deque[tuple[ProbeTarget, str]] = deque()  # host slot already held
        self.deferred: dict[str, deque[ProbeTarget]] = {}  # host -> targets waiting for it
        self.out: asyncio.Queue = asyncio.Queue(maxsize=2 * engine.concurrency)
        batcher = engine._batcher
        # Results waiting for a pool-run analysis do not hold a worker; this bounds how many may wait at once
        # (enough to fill every batch in flight).
        self.analysis_slots = (
            asyncio.Semaphore(batcher.max_in_flight * batcher.max_batch) if batcher is not None else None
        )
        self.analysing: set[asyncio.Task] = set()
        self.workers = [asyncio.create_task(self.work()) for _ in range(workers)]
        self.supervisor = asyncio.create_task(self.supervise())

    def next_ready(self) -> tuple[ProbeTarget, str] | None:
        """The next target whose host has a free slot (slot taken), without waiting."""
        if self.ready:
            return self.ready.popleft()
        hosts = self.engine._hosts
        while not self.exhausted:
            try:
                target = next(self.targets)
            except StopIteration:
                self.exhausted = True
                break
            except Exception as exc:  # the caller's iterable failed: finish what runs, then re-raise to the caller
                self.exhausted = True
                self.failure = exc
                break
            host = target.host or host_of(target.url)
            if hosts.try_acquire(host):
                return target, host
            self.deferred.setdefault(host, deque()).append(target)
        return None

    def host_freed(self, host: str) -> None:
        waiting = self.deferred.get(host)
        if waiting and self.engine._hosts.try_acquire(host):
            self.ready.append((waiting.popleft(), host))
            if not waiting:
                del self.deferred[host]

    async def work(self) -> None:
        engine = self.engine
        out = self.out
        while True:
            item = self.next_ready()
            if item is None:
                if not self.deferred:
                    return
                # Everything left waits for busy hosts (possibly busy outside this sweep): wait for a slot.
                host, waiting = next(iter(self.deferred.items()))
                target = waiting.popleft()
                if not waiting:
                    del self.deferred[host]
                await engine._hosts.acquire(host)
            else:
                target, host = item
            try:
                async with engine._global:
                    result = await engine._run(target)
            finally:
                engine._hosts.release(host)
                self.host_freed(host)
            if result.body is not None and engine.analyse is not None:
                if self.analysis_slots is None:
                    await engine._analyse(result)
                else:
                    await self.analysis_slots.acquire()
                    task = asyncio.create_task(self.analyse_then_emit(result))
                    self.analysing.add(task)
                    task.add_done_callback(self.analysing.discard)
                    continue
            if out.full():
                await out.put(result)
            else:
                out.put_nowait(result)

    async def analyse_then_emit(self, result: ProbeResult) -> None:
        try:
            await self.engine._analyse(result)
        finally:
            self.analysis_slots.release()
        await self.out.put(result)

    async def supervise(self) -> None:
        try:
            for outcome in await asyncio.gather(*self.workers, return_exceptions=True):
                if isinstance(outcome, Exception) and self.failure is None:
                    self.failure = outcome  # a bug in the sweep itself: surface it rather than hang
            while self.analysing:
                await asyncio.gather(*list(self.analysing), return_exceptions=True)
        finally:
            await self.out.put(_DONE)

    async def cancel(self) -> None:
        tasks = [*self.workers, self.supervisor, *self.analysing]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def run_coroutine(make: Callable[[], Any]) -> Any:
    """Run the coroutine ``make()`` to completion on a fresh event loop (uvloop when installed); return its result.

    asyncio allows one running loop per thread. Called from a thread that already runs one (an async caller, or a
    process where Playwright's synchronous API keeps a loop running), the new loop runs in a separate thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_here(make)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="probe-loop") as pool:
        return pool.submit(_run_here, make).result()


def _run_here(make: Callable[[], Any]) -> Any:
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(make())


def run_sweep(targets: Iterable[ProbeTarget], **engine_kwargs) -> list[ProbeResult]:
    """Synchronous convenience: one engine, one sweep (see ``run_coroutine``)."""

    async def main() -> list[ProbeResult]:
        async with Engine(**engine_kwargs) as engine:
            return [result async for result in engine.sweep(targets)]

    return run_coroutine(main)
