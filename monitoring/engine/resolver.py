"""Name resolution with the project's safety policy and one TTL cache shared by every probe of an engine.

Policy:

* names under ``.example``, ``.test``, ``.localhost`` and ``localhost`` itself are the project's own (the simulated
  school-site farm): they resolve here, without any lookup, to 127.0.0.1 (and ::1 when IPv6 is asked and the name has
  IPv6), and their ports go through ``port_map`` so that ``http://school.example/`` reaches the farm on 18080;
* ``hosts`` adds static entries (name -> addresses), mainly for tests;
* every other name goes to ``fallback`` (aiohttp's ThreadedResolver: getaddrinfo in the default executor, so the
  loop never blocks) — but only with ``allow_public=True``. Otherwise it fails at once, before any lookup;
* with ``allow_public=False`` an address that is not loopback is refused (``AddressNotAllowed``): tests, the demo and
  the benchmarks must never contact a real address. ``guarded_socket`` applies the same rule to every socket the HTTP
  connector opens, which also covers IP literals in URLs and redirects (aiohttp never asks the resolver for those).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable, Collection, Mapping
from functools import lru_cache

from aiohttp.abc import AbstractResolver, ResolveResult

PROJECT_SUFFIXES = (".example", ".test", ".localhost")
_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


class ResolveError(OSError):
    """The name has no usable address. An OSError so that aiohttp reports it as a DNS error."""


class PublicNameRefused(ResolveError):
    """A public name was asked while public resolution is disabled."""


class AddressNotAllowed(OSError):
    """The address is not loopback and public access is disabled."""

    def __init__(self, address: str):
        super().__init__(f"address not allowed: {address} (allow_public=False)")
        self.address = address


def is_project_name(name: str) -> bool:
    name = name.rstrip(".").lower()
    return name == "localhost" or name.endswith(PROJECT_SUFFIXES)


@lru_cache(maxsize=4096)
def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def guarded_socket(addr_info) -> socket.socket:
    """Socket factory for aiohttp's connector when public access is off: refuse non-loopback peers before connecting."""
    family, type_, proto, _, sockaddr = addr_info
    if not is_loopback(sockaddr[0]):
        raise AddressNotAllowed(sockaddr[0])
    return socket.socket(family=family, type=type_, proto=proto)


class ProjectResolver(AbstractResolver):
    """aiohttp resolver implementing the policy above, with a TTL cache (and in-flight de-duplication) for public names.

    ``ipv6_hosts`` says which project names have an AAAA record (::1): None means all of them (the farm then decides
    per site by closing IPv6 connections of sites without IPv6), a collection of names, or a predicate.
    """

    def __init__(
        self,
        *,
        port_map: Mapping[int, int] | None = None,
        allow_public: bool = False,
        hosts: Mapping[str, Collection[str]] | None = None,
        ipv6_hosts: Collection[str] | Callable[[str], bool] | None = None,
        ttl: float = 60.0,
        negative_ttl: float = 5.0,
        fallback: AbstractResolver | None = None,
    ):
        self.port_map = dict(port_map or {})
        self.allow_public = allow_public
        self.hosts = {name.rstrip(".").lower(): list(addresses) for name, addresses in (hosts or {}).items()}
        if ipv6_hosts is None or callable(ipv6_hosts):
            self._has_ipv6 = ipv6_hosts
        else:
            names = frozenset(name.lower() for name in ipv6_hosts)
            self._has_ipv6 = names.__contains__
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self._fallback = fallback
        self._cache: dict[tuple[str, int], tuple[float, list[tuple[str, int]] | OSError]] = {}
        self._inflight: dict[tuple[str, int], asyncio.Future] = {}
        self.lookups = 0  # public lookups actually sent to the fallback resolver (tests and stats)

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        name = host.rstrip(".").lower()
        if name in self.hosts:
            addresses = [(a, socket.AF_INET6 if ":" in a else socket.AF_INET) for a in self.hosts[name]]
            addresses = [(a, f) for a, f in addresses if family in (socket.AF_UNSPEC, f)]
            port = self.port_map.get(port, port)
        elif name == "localhost" or name.endswith(PROJECT_SUFFIXES):
            return self._project_addresses(host, name, port, family)
        elif not self.allow_public:
            raise PublicNameRefused(f"{host}: public names are not resolved (allow_public=False)")
        else:
            addresses = await self._lookup_public(name, family)
        if not self.allow_public:
            for address, _ in addresses:
                if not is_loopback(address):
                    raise AddressNotAllowed(address)
        if not addresses:
            raise ResolveError(f"{host}: no {'AAAA' if family == socket.AF_INET6 else 'address'} record")
        return [
            {"hostname": host, "host": a, "port": port, "family": f, "proto": 0, "flags": _NUMERIC}
            for a, f in addresses
        ]

    def _project_addresses(self, host: str, name: str, port: int, family: int) -> list[ResolveResult]:
        port = self.port_map.get(port, port)
        if family == socket.AF_INET6:
            if self._has_ipv6 is not None and not self._has_ipv6(name):
                raise ResolveError(f"{host}: no AAAA record")
            address, family = "::1", socket.AF_INET6
        else:
            # AF_INET and AF_UNSPEC: IPv4 only, so the http check never lands on the farm's IPv6 side by accident.
            address, family = "127.0.0.1", socket.AF_INET
        return [{"hostname": host, "host": address, "port": port, "family": family, "proto": 0, "flags": _NUMERIC}]

    async def _lookup_public(self, name: str, family: int) -> list[tuple[str, int]]:
        key = (name, family)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            if isinstance(cached[1], OSError):
                raise cached[1]
            return cached[1]
        pending = self._inflight.get(key)
        if pending is not None:
            # Many checks of one site start together: one lookup answers them all.
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            if self._fallback is None:
                from aiohttp.resolver import ThreadedResolver

                self._fallback = ThreadedResolver()
            self.lookups += 1
            try:
                found = await self._fallback.resolve(name, 0, family)
            except OSError as exc:
                self._cache[key] = (time.monotonic() + self.negative_ttl, exc)
                raise
            addresses = list(dict.fromkeys((r["host"], r["family"]) for r in found))
            self._cache[key] = (time.monotonic() + self.ttl, addresses)
            future.set_result(addresses)
            return addresses
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc if isinstance(exc, Exception) else ResolveError(f"{name}: lookup cancelled"))
                future.exception()  # mark retrieved: nobody may be waiting
            raise
        finally:
            del self._inflight[key]

    def clear_cache(self) -> None:
        self._cache.clear()

    async def close(self) -> None:
        if self._fallback is not None:
            await self._fallback.close()
