"""The async probe engine (architecture.md §5): pure asyncio + aiohttp, no ORM and no Django settings.

The scheduler hands batches of ``ProbeTarget`` to ``Engine.sweep`` (or ``run_sweep`` from synchronous code) and
stores the ``ProbeResult`` objects it yields.
"""

from .engine import (
    BROWSER_USER_AGENT,
    DEFAULT_USER_AGENT,
    MOBILE_USER_AGENT,
    SPIDER_USER_AGENT,
    Engine,
    HostLimiter,
    body_hash,
    run_coroutine,
    run_sweep,
)
from .resolver import AddressNotAllowed, ProjectResolver, PublicNameRefused, ResolveError, is_project_name
from .targets import (
    DEFAULT_TIMEOUTS,
    PROBE_ERRORS,
    TLS_VERIFY_ERRORS,
    VARIANTS,
    ProbeResult,
    ProbeTarget,
    Timeouts,
    TLSInfo,
)

__all__ = [
    "BROWSER_USER_AGENT",
    "DEFAULT_TIMEOUTS",
    "DEFAULT_USER_AGENT",
    "MOBILE_USER_AGENT",
    "PROBE_ERRORS",
    "SPIDER_USER_AGENT",
    "TLS_VERIFY_ERRORS",
    "VARIANTS",
    "AddressNotAllowed",
    "Engine",
    "HostLimiter",
    "ProbeResult",
    "ProbeTarget",
    "ProjectResolver",
    "PublicNameRefused",
    "ResolveError",
    "TLSInfo",
    "Timeouts",
    "body_hash",
    "is_project_name",
    "run_coroutine",
    "run_sweep",
]
