"""Cloaking: different content for search-engine spiders, mobile visitors or visitors arriving from a search engine.

Server-side cloaking shows only when the page is fetched several times (browser, spider, mobile and search-referer
requests, see ``compare_variants``); client-side cloaking is a script that redirects only when ``document.referrer``
names a search engine or ``navigator.userAgent`` names a spider or a phone (``find_script_cloaking``).

A variant is cloaked when, compared with the browser variant, it adds foreign spam links, spam keywords or a redirect
to a foreign site (in its page, or by the server: an HTTP redirect, even to a site that gives no page), or when its
text is grossly different. Mobile templates that show a subset of the same news, and
fetches that differ by a date or one rotated news item, stay quiet: similarity is measured as the share of the
variant's text found in the browser's (containment), which is high for subsets.
"""

import re

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from ..vocabulary import CLOAKING
from .defacement import normalise
from .domains import SiteScope, host_of, is_spam_host
from .keywords import SPAM_CATEGORIES, KeywordLibrary
from .page import Page
from .results import HIGH, Detection
from .scripts import redirect_targets, script_redirects

VARIANT_TECHNIQUES = {
    "spider": "cloaking_spider",
    "mobile": "cloaking_mobile",
    "referer": "cloaking_referer",
}
MIN_NEW_FOREIGN_HOSTS = 3
GROSS_DIFFERENCE_BELOW = 0.3  # share of the variant's text shingles present in the browser variant
MIN_SHINGLES = 40  # too little text to judge similarity (a "please wait" page is judged by its redirect)

REASONS = {
    "spam_links": _("Spam links not shown to browsers"),
    "foreign_links": _("Links to other sites not shown to browsers"),
    "spam_keywords": _("Harmful keywords not shown to browsers"),
    "redirect": _("Redirect to another site"),
    "different_content": _("Content differs from what browsers get"),
}

_SEARCH_ENGINE_RE = re.compile(r"baidu|google|sogou|so\.com|sm\.cn|bing|360|youdao|yahoo|soso", re.I)
_SPIDER_RE = re.compile(r"spider|bot|crawler|slurp", re.I)
_MOBILE_RE = re.compile(r"mobile|android|iphone|ipad|ipod|phone|symbian|windows\s*ce|ucweb|midp", re.I)


class _Facts:
    """What a variant shows: foreign hosts, spam words, foreign redirects and a text sketch."""

    def __init__(self, html: str, scope: SiteScope, library: KeywordLibrary):
        page = Page(html, scope=scope)
        self.hosts = {}
        for anchor in page.tree.css("a[href]"):
            host = host_of(anchor.attributes.get("href") or "")
            if scope.is_foreign(host):
                self.hosts.setdefault(host, anchor.attributes.get("href"))
        self.words = {m.word for m in library.scan(page.text + "\n" + page.title) if m.category in SPAM_CATEGORIES}
        self.redirects = {
            target for target, _origin, _conditional in redirect_targets(page) if scope.is_foreign(host_of(target))
        }
        text = normalise(page.text)
        # Compared within this call only, so the process-salted built-in hash is fine (and fast).
        self.shingles = {hash(text[i : i + 4]) for i in range(max(0, len(text) - 3))}


def compare_variants(
    variants: dict[str, str],
    *,
    url: str = "",
    site_domains=(),
    keyword_library: KeywordLibrary | None = None,
    redirected_to: dict[str, str] | None = None,
) -> Detection | None:
    """Compare the 'spider', 'mobile' and 'referer' bodies with the 'browser' body of the same URL.

    ``url`` is where the browser's redirects led. ``redirected_to`` gives, per variant, where the server's redirects
    sent it (empty: nowhere); a variant sent to a foreign site is cloaked even when that site gave no page.
    """
    if "browser" not in variants:
        return None
    library = keyword_library or KeywordLibrary.default()
    scope = SiteScope(url, site_domains)
    browser = _Facts(variants["browser"], scope, library)
    redirected_to = redirected_to or {}
    report, techniques = {}, []
    for name, technique in VARIANT_TECHNIQUES.items():
        target = redirected_to.get(name, "")
        sent_away = bool(target) and scope.is_foreign(host_of(target))
        if not variants.get(name) and not sent_away:
            continue
        facts = _Facts(variants.get(name) or "", scope, library)
        if sent_away:
            facts.redirects.add(target)
        reasons = []
        new_hosts = sorted(facts.hosts.keys() - browser.hosts.keys())
        if any(is_spam_host(host) for host in new_hosts):
            reasons.append("spam_links")
        elif len(new_hosts) >= MIN_NEW_FOREIGN_HOSTS:
            reasons.append("foreign_links")
        new_words = sorted(facts.words - browser.words)
        if new_words:
            reasons.append("spam_keywords")
        new_redirects = sorted(facts.redirects - browser.redirects)
        if new_redirects:
            reasons.append("redirect")
        similarity = len(facts.shingles & browser.shingles) / len(facts.shingles) if facts.shingles else 1.0
        if len(facts.shingles) >= MIN_SHINGLES and similarity < GROSS_DIFFERENCE_BELOW:
            reasons.append("different_content")
        if reasons:
            techniques.append(technique)
            report[name] = {
                "technique": technique,
                "reasons": reasons,
                "new_hosts": new_hosts[:30],
                "new_links": [facts.hosts[host] for host in new_hosts[:30]],
                "keywords": new_words[:30],
                "redirects": new_redirects[:5],
                "text_similarity": round(similarity, 3),
            }
    if not report:
        return None
    return Detection(
        kind=CLOAKING,
        severity=HIGH,
        summary=gettext_noop("Search engines, phones or search visitors get different content than browsers."),
        technique=techniques[0],
        evidence={"techniques": techniques, "variants": report},
    )


def find_script_cloaking(page: Page) -> Detection | None:
    """A script that redirects to a foreign site only for some visitors (by referrer or user agent)."""
    found = []
    for _node, code in page.inline_scripts:
        if "referrer" not in code and "userAgent" not in code:
            continue
        targets = [target for target in script_redirects(code) if page.scope.is_foreign(host_of(target))]
        if not targets:
            continue
        if "referrer" in code and _SEARCH_ENGINE_RE.search(code):
            technique = "cloaking_referer"
        elif "userAgent" in code and _SPIDER_RE.search(code):
            technique = "cloaking_spider"
        elif "userAgent" in code and _MOBILE_RE.search(code):
            technique = "cloaking_mobile"
        else:
            continue
        spans = page.find_in_source(targets[0], limit=1)
        found.append({"technique": technique, "targets": targets[:5], "script": code[:2000], "matches": spans})
    if not found:
        return None
    return Detection(
        kind=CLOAKING,
        severity=HIGH,
        summary=gettext_noop("A script redirects search visitors, spiders or phones to another site."),
        technique=found[0]["technique"],
        evidence={
            "techniques": list(dict.fromkeys(item["technique"] for item in found)),
            "scripts": [{key: value for key, value in item.items() if key != "matches"} for item in found],
            "matches": [span for item in found for span in item["matches"]],
        },
    )


def merge(first: Detection | None, second: Detection | None) -> Detection | None:
    """One CLOAKING detection per page: variant comparison first, script evidence added."""
    if first is None or second is None:
        return first or second
    evidence = dict(first.evidence)
    evidence["techniques"] = list(dict.fromkeys(first.evidence["techniques"] + second.evidence["techniques"]))
    evidence["scripts"] = second.evidence["scripts"]
    evidence["matches"] = second.evidence.get("matches", [])
    return Detection(first.kind, first.severity, first.summary, first.technique, evidence)
