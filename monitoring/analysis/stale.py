"""Outdated software banners (one half of a "僵尸" site; the other, unchanged content, is decided by the storage).

A banner is read from response headers (``Server``, ``X-Powered-By``, ``X-AspNet-Version``), the ``generator`` meta tag
and jQuery file names in script sources. A product is stale when its version is below the minimum in
``MINIMUM_VERSIONS``: for servers and languages the oldest release line still receiving security fixes when this table
was written (2025), for school CMSs the last release of the line that fixed their well-known mass-exploited holes.
"""

import re

from django.utils.translation import gettext_noop

from ..vocabulary import STALE_SITE
from .page import Page
from .results import LOW, Detection

MINIMUM_VERSIONS = {
    "php": (8, 1),  # 8.0 and older: no security fixes since November 2023
    "apache": (2, 4),  # 2.2: end of life in 2017
    "nginx": (1, 20),
    "iis": (8, 5),  # IIS 6/7/7.5 ship with Windows Server 2003/2008
    "openssl": (1, 1, 1),
    "asp.net": (4, 0),
    "dedecms": (5, 7),  # 织梦 before V5.7 SP2: mass-exploited upload and SQL injection holes
    "phpcms": (9, 6, 3),
    "wordpress": (6, 0),
    "discuz": (3, 4),  # Discuz! X3.4
    "joomla": (4, 0),
    "drupal": (10, 0),
    "jquery": (3, 0),  # 1.x and 2.x: unfixed XSS in html parsing (CVE-2020-11022)
}

_BANNER_RES = [
    ("php", re.compile(r"php/(\d+(?:\.\d+)*)", re.I)),
    ("apache", re.compile(r"apache/(\d+(?:\.\d+)*)", re.I)),
    ("nginx", re.compile(r"nginx/(\d+(?:\.\d+)*)", re.I)),
    ("iis", re.compile(r"microsoft-iis/(\d+(?:\.\d+)*)", re.I)),
    ("openssl", re.compile(r"openssl/(\d+(?:\.\d+)*)", re.I)),
]
_GENERATOR_RES = [
    ("dedecms", re.compile(r"dedecms\s*v?(\d+(?:\.\d+)*)", re.I)),
    ("phpcms", re.compile(r"phpcms\s*v?(\d+(?:\.\d+)*)", re.I)),
    ("wordpress", re.compile(r"wordpress\s*(\d+(?:\.\d+)*)", re.I)),
    ("discuz", re.compile(r"discuz!?\s*x?(\d+(?:\.\d+)*)", re.I)),
    ("joomla", re.compile(r"joomla!?\s*(\d+(?:\.\d+)*)", re.I)),
    ("drupal", re.compile(r"drupal\s*(\d+(?:\.\d+)*)", re.I)),
]
_JQUERY_RES = [
    re.compile(r"jquery[-.]?(\d+\.\d+(?:\.\d+)?)(?:[.-]min)?\.js", re.I),
    re.compile(r"/jquery/(\d+\.\d+(?:\.\d+)?)/", re.I),
    re.compile(r"jquery(?:\.min)?\.js\?v(?:er)?=(\d+\.\d+(?:\.\d+)?)", re.I),
]


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def _stale(product: str, version: str, source: str, banner: str) -> dict | None:
    parsed = version_tuple(version)
    minimum = MINIMUM_VERSIONS[product]
    if parsed and parsed < minimum:
        return {
            "product": product,
            "version": version,
            "minimum": ".".join(map(str, minimum)),
            "source": source,
            "banner": banner[:200],
        }
    return None


def find_stale_software(page: Page, headers: dict | None = None) -> Detection | None:
    findings, matches = [], []
    for name, value in (headers or {}).items():
        name = name.lower()
        if name in ("server", "x-powered-by"):
            for product, pattern in _BANNER_RES:
                for version in pattern.findall(value):
                    if item := _stale(product, version, f"header:{name}", value):
                        findings.append(item)
        elif name == "x-aspnet-version":
            if item := _stale("asp.net", value.strip(), "header:x-aspnet-version", value):
                findings.append(item)
    generator = page.meta.get("generator", "")
    for product, pattern in _GENERATOR_RES:
        if match := pattern.search(generator):
            if item := _stale(product, match.group(1), "meta:generator", generator):
                findings.append(item)
                matches += page.find_in_source(generator, limit=1)
    for _node, src in page.script_srcs:
        for pattern in _JQUERY_RES:
            if match := pattern.search(src):
                if item := _stale("jquery", match.group(1), "script", src):
                    findings.append(item)
                    matches += page.find_in_source(src, limit=1)
                break
    if not findings:
        return None
    return Detection(
        kind=STALE_SITE,
        severity=LOW,
        summary=gettext_noop("The site runs outdated software."),
        evidence={"software": findings, "matches": matches},
    )
