"""Pure content analysers of the website monitor: HTML in, detections with evidence out (no ORM, no network).

Public API::

    analyse_page(html, *, url, baseline=None, keyword_library=None, known_script_domains=(), site_domains=(),
                 variants=None, headers=None, variant_redirects=None) -> PageAnalysis
    make_baseline(html_samples, *, url="") -> dict          # JSON-serialisable reviewed baseline
    compare(baseline, analysis) -> Detection | None         # defacement against a baseline
    compare_variants(variants, *, url="", site_domains=(), keyword_library=None, redirected_to=None)
        -> Detection | None
    KeywordLibrary.default() / KeywordLibrary.from_entries(((category, word), ...), whitelist=())

The page is parsed once (lexbor) and every analyser reads the same ``Page``. Each analyser reports at most one
``Detection`` per kind, and the evidence of every detection is passed through ``mask_evidence`` so that no raw ID or
mobile number leaves this package.
"""

from .cloaking import compare_variants, find_script_cloaking, merge
from .defacement import Sketch, compare, make_baseline, spam_title_detection
from .domains import SiteScope
from .hidden_links import find_hidden_links
from .keywords import KeywordLibrary, find_keywords
from .page import Page
from .personal_info import find_personal_info, mask_evidence
from .registration import find_missing_registration
from .results import CRITICAL, HIGH, INFO, LOW, MEDIUM, SEVERITIES, Detection, PageAnalysis, severity_rank
from .scripts import DEFAULT_SCRIPT_DOMAINS, find_malicious_scripts
from .stale import find_stale_software

__all__ = [
    "CRITICAL",
    "DEFAULT_SCRIPT_DOMAINS",
    "HIGH",
    "INFO",
    "LOW",
    "MEDIUM",
    "SEVERITIES",
    "Detection",
    "KeywordLibrary",
    "Page",
    "PageAnalysis",
    "analyse_page",
    "compare",
    "compare_variants",
    "make_baseline",
]


def analyse_page(
    html: str,
    *,
    url: str,
    baseline: dict | None = None,
    keyword_library: KeywordLibrary | None = None,
    known_script_domains=(),
    site_domains=(),
    variants: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    variant_redirects: dict[str, str] | None = None,
) -> PageAnalysis:
    """Run every content analyser over one page.

    ``html`` is the body as a browser gets it (the 'browser' variant), ``url`` where it was served from (after its
    redirects). ``site_domains`` are the site's own domains besides the URL's; ``variants`` maps 'spider' / 'mobile'
    / 'referer' to the bodies fetched with those identities, and ``variant_redirects`` the same names to where the
    server's redirects sent them ('' for none; a variant may have a redirect and no body); ``headers`` are the
    response headers (for outdated-software banners).
    """
    library = keyword_library or KeywordLibrary.default()
    page = Page(html, url=url, scope=SiteScope(url, site_domains))
    keywords = find_keywords(page, library)
    detections = [
        find_hidden_links(page, library),
        find_malicious_scripts(page, known_script_domains),
        keywords,
        find_personal_info(page),
        find_missing_registration(page),
        find_stale_software(page, headers),
    ]
    cloaking = find_script_cloaking(page)
    if variants or variant_redirects:
        compared = compare_variants(
            {**(variants or {}), "browser": html},
            url=url,
            site_domains=site_domains,
            keyword_library=library,
            redirected_to=variant_redirects,
        )
        cloaking = merge(compared, cloaking)
    detections.append(cloaking)
    analysis = PageAnalysis(url=url, title=page.title, fingerprint=Sketch(page))
    analysis.detections = [detection for detection in detections if detection is not None]
    defacement = compare(baseline, analysis, library) if baseline else spam_title_detection(page.title, library)
    if defacement is not None:
        analysis.detections.append(defacement)
    for detection in analysis.detections:
        detection.evidence = mask_evidence(detection.evidence)
    analysis.detections.sort(key=lambda detection: severity_rank(detection.severity))
    return analysis
