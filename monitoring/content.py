"""Content analysis of one fetched page, the same function in this process or in the monitor's analysis pool.

Full analysis (HTML parse, hidden links, scripts, keywords, personal information, cloaking, defacement) costs
milliseconds of CPU per page, against a fraction of a millisecond to fetch it. The long-running monitor
(``sweep.Monitor``) therefore hands changed pages to a process pool (``EDUSEC_MONITOR_ANALYSIS_WORKERS`` processes)
straight from the probe engine, so that fetching and analysis overlap and use every core; the storage then only
records the outcome. Small calls (the "probe now" button, tests, ``probe_checks``) analyse in-process.

Nothing here touches the database: everything a page is judged by travels with the probe target as a
``ContentContext`` (the baseline as its stored JSON text, decoded only when the page did change; the keyword library
of the site's unit, or None for the default one). The outcome is small: the page copy kept as evidence is compressed
by the storage, only when an event keeps it (a new detection), not for every page on which something persists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .analysis import Detection, KeywordLibrary, analyse_page, make_baseline
from .analysis.page import decode_html
from .engine.targets import ProbeResult


@dataclass(slots=True)
class ContentContext:
    """What the analysis of a content check's page needs besides the page."""

    url: str
    host: str
    baseline_json: str | None = None  # the stored baseline as JSON text; None: the site has none yet
    library: KeywordLibrary | None = None  # None: the default library


@dataclass(slots=True)
class ContentOutcome:
    detections: list[Detection] = field(default_factory=list)
    baseline: dict | None = None  # made from this page when the site had none (its provisional baseline)


def analyse_content(result: ProbeResult, context: ContentContext | None = None) -> ContentOutcome | None:
    """Analyse ``result``'s page (None when it carries no page or no context)."""
    context = context or result.context
    if result.body is None or not isinstance(context, ContentContext):
        return None
    content_type = result.headers.get("content-type", "")
    html = decode_html(result.body, content_type)
    # The page is judged where it was served from, as a browser reads it: its relative links resolve against the URL
    # the redirects led to, and that site's links and scripts are its own (besides the ledger host's). A school site
    # on its district's platform (站群) answers its ledger address with a redirect to the platform; judged at the
    # ledger address, the platform's own menus and scripts were hidden links and scripts of unknown domains.
    url = result.final_url or context.url
    outcome = ContentOutcome()
    baseline = json.loads(context.baseline_json) if context.baseline_json else None
    if baseline is None:
        # A site's first page is its provisional baseline until someone reviews one.
        baseline = outcome.baseline = make_baseline([html], url=url)
    variants = {"browser": html}
    for name, body in (result.variants or {}).items():
        variants[name] = decode_html(body, content_type)  # the same site: its headers were not kept
    redirects = {name: meta.get("redirected_to", "") for name, meta in (result.variant_meta or {}).items()}
    analysis = analyse_page(
        html,
        url=url,
        baseline=baseline,
        keyword_library=context.library,
        site_domains=(context.host,),
        variants=variants if len(variants) > 1 else None,
        headers=result.headers,
        variant_redirects={name: target for name, target in redirects.items() if target} or None,
    )
    outcome.detections = list(analysis.detections)
    return outcome


def analyse_in_pool(result: ProbeResult) -> ContentOutcome | None:
    """The engine's ``analyse`` hook for the pool: a top-level function, so that it pickles by name."""
    return analyse_content(result)


def library_for_pool(library: KeywordLibrary | None) -> KeywordLibrary | None:
    """None for the default library (every pool worker has its own); a unit's own library travels with its pages,
    pickled once per batch of pages (about 125 KB for the shipped list)."""
    if library is None or library is KeywordLibrary.default():
        return None
    return library
