"""Malicious scripts (挂马): foreign script sources, obfuscated loaders, injected scripts/iframes and redirects.

Only what the page itself contains is examined (external script files are not fetched). Patterns run over the text of
inline scripts, never over the whole document.
"""

import re

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from ..vocabulary import MALICIOUS_SCRIPT
from .domains import host_of, matches_suffix
from .hidden_links import script_strings
from .page import Page, excerpt
from .results import HIGH, MEDIUM, Detection

# Script hosts a Chinese school site legitimately loads from: public CDNs, statistics and the platform SDKs.
# Matched as suffixes; the site's own domains and the trusted allow-list of ``domains`` are accepted as well.
DEFAULT_SCRIPT_DOMAINS = (
    "bootcdn.net", "bootcss.com",  # BootCDN
    "staticfile.org", "staticfile.net",  # 七牛 Staticfile CDN
    "baomitu.com",  # 360 前端静态资源库
    "bytecdntp.com", "bytedance.com",  # ByteDance CDN
    "jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "code.jquery.com", "ajax.aspnetcdn.com",
    "bdstatic.com", "bdimg.com",  # Baidu static (link push, share), apps.bdimg.com libraries
    "baidu.com",  # hm.baidu.com (百度统计), libs.baidu.com, api.map.baidu.com
    "cnzz.com", "umeng.com", "51.la",  # statistics
    "qq.com", "gtimg.cn",  # WeChat JS-SDK (res.wx.qq.com), Tencent analytics and maps
    "alicdn.com", "amap.com",  # iconfont, AMap
    "conac.cn",  # 党政机关网站标识
)  # fmt: skip

REASONS = {
    "unknown_external": _("External script from an unknown domain"),
    "obfuscated_loader": _("Obfuscated script loader"),
    "injected_script": _("Script injects a script from another domain"),
    "injected_iframe": _("Script injects an iframe from another domain"),
    "redirect": _("Redirect to another site"),
}
_SEVERE_REASONS = {"obfuscated_loader", "injected_script", "injected_iframe", "redirect"}

_OBFUSCATION_PATTERNS = [
    ("packer", re.compile(r"eval\s*\(\s*function\s*\(\s*p\s*,\s*a\s*,\s*c\s*,\s*k\s*,\s*e\s*,\s*[dr]\s*\)")),
    ("eval_decode", re.compile(r"eval\s*\(\s*(?:window\.)?(?:unescape|decodeURIComponent|escape|atob)\s*\(")),
    ("eval_fromcharcode", re.compile(r"eval\s*\(\s*String\.fromCharCode\s*\(")),
    ("function_decode", re.compile(r"(?:new\s+)?Function\s*\(\s*(?:atob|unescape|decodeURIComponent)\s*\(")),
    ("fromcharcode_chain", re.compile(r"fromCharCode\s*\(\s*(?:\d+\s*,\s*){20,}")),
    ("hex_string", re.compile(r"(?:\\x[0-9a-fA-F]{2}){30,}")),
    ("unicode_string", re.compile(r"(?:\\u[0-9a-fA-F]{4}){30,}")),
    ("percent_u_string", re.compile(r"(?:%u[0-9a-fA-F]{4}){20,}")),
]
_ATOB_RE = re.compile(r"\batob\s*\(")
_EVAL_RE = re.compile(r"\beval\s*\(")
_FROMCHARCODE_RE = re.compile(r"String\.fromCharCode\s*\(")
_CREATE_RE = re.compile(r"createElement\(\s*['\"](script|iframe)['\"]", re.IGNORECASE)
_WRITTEN_TAG_RE = re.compile(r"<\s*(script|iframe)\b[^>]*?\bsrc\s*=\s*['\"]?([^'\"\s>]+)", re.IGNORECASE)
_URL_RE = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s'\"<>)]*", re.IGNORECASE)
_REDIRECT_RE = re.compile(
    r"(?:(?:window|top|self|parent|document)\s*\.\s*)?location(?:\s*\.\s*href)?\s*=\s*['\"]([^'\"]+)['\"]"
    r"|location\s*\.\s*(?:replace|assign)\s*\(\s*['\"]([^'\"]+)['\"]",
    re.IGNORECASE,
)
_META_REFRESH_RE = re.compile(r"url\s*=\s*['\"]?([^'\"\s;]+)", re.IGNORECASE)
# A redirect guarded by who is asking is cloaking (see ``cloaking.find_script_cloaking``), not a redirect for everyone.
CONDITION_RE = re.compile(r"document\s*\.\s*referrer|navigator\s*\.\s*userAgent|navigator\s*\.\s*platform", re.I)


class ScriptScope:
    """Which script hosts are acceptable on this page."""

    def __init__(self, page: Page, known_script_domains=()):
        self.page = page
        self.known = DEFAULT_SCRIPT_DOMAINS + tuple(d.lower() for d in known_script_domains)

    def is_unknown(self, host: str) -> bool:
        return self.page.scope.is_foreign(host) and not matches_suffix(host, self.known)


def script_redirects(code: str) -> list[str]:
    """Targets of ``location = ...`` / ``location.replace(...)`` in one script."""
    return [match.group(1) or match.group(2) for match in _REDIRECT_RE.finditer(code)]


def redirect_targets(page: Page) -> list[tuple[str, str, bool]]:
    """(target URL, origin, conditional) of script and meta-refresh redirects on the page."""
    targets = []
    for _node, code in page.inline_scripts:
        conditional = bool(CONDITION_RE.search(code))
        targets += [(target, "script", conditional) for target in script_redirects(code)]
    refresh = page.meta.get("refresh", "")
    if match := _META_REFRESH_RE.search(refresh):
        targets.append((match.group(1), "meta_refresh", False))
    return targets


def find_malicious_scripts(page: Page, known_script_domains=()) -> Detection | None:
    scope = ScriptScope(page, known_script_domains)
    findings, matches = [], []

    for _node, src in page.script_srcs:
        host = host_of(src)
        if scope.is_unknown(host):
            findings.append({"reason": "unknown_external", "src": src[:500], "host": host})
            matches += page.find_in_source(src, limit=1)

    for _node, code in page.inline_scripts:
        before = len(findings)
        pattern = _obfuscation(code)
        if pattern:
            findings.append({"reason": "obfuscated_loader", "pattern": pattern, "excerpt": excerpt(code)})
        for reason, host, url in _injections(code, scope):
            findings.append({"reason": reason, "host": host, "src": url[:500], "excerpt": excerpt(code)})
        if len(findings) > before:
            matches += page.find_in_source(code[:200], limit=1)

    for target, origin, conditional in redirect_targets(page):
        host = host_of(target)
        if not conditional and scope.is_unknown(host):
            findings.append({"reason": "redirect", "origin": origin, "target": target[:500], "host": host})
            matches += page.find_in_source(target, limit=1)

    if not findings:
        return None
    severe = any(finding["reason"] in _SEVERE_REASONS for finding in findings)
    return Detection(
        kind=MALICIOUS_SCRIPT,
        severity=HIGH if severe else MEDIUM,
        summary=gettext_noop("Suspicious scripts found on the page.")
        if severe
        else gettext_noop("Script loaded from an unknown external domain."),
        evidence={
            "reasons": sorted({finding["reason"] for finding in findings}),
            "scripts": findings[:20],
            "matches": matches,
        },
    )


def _obfuscation(code: str) -> str:
    for name, pattern in _OBFUSCATION_PATTERNS:
        if pattern.search(code):
            return name
    if _ATOB_RE.search(code) and _EVAL_RE.search(code):
        return "atob_eval"
    if len(_FROMCHARCODE_RE.findall(code)) >= 3 and _EVAL_RE.search(code):
        return "fromcharcode_eval"
    return ""


def _injections(code: str, scope: ScriptScope):
    """Foreign scripts and iframes that an inline script adds by ``document.write`` or ``createElement``."""
    written = script_strings(code)
    found = []
    for tag, url in _WRITTEN_TAG_RE.findall(written):
        host = host_of(url)
        if scope.is_unknown(host):
            found.append(("injected_" + tag.lower(), host, url))
    created = {tag.lower() for tag in _CREATE_RE.findall(code)}
    if created:
        for url in _URL_RE.findall(written):
            host = host_of(url)
            if scope.is_unknown(host):
                tag = "iframe" if "iframe" in created else "script"
                found.append(("injected_" + tag, host, url))
    unique = {}
    for reason, host, url in found:
        unique.setdefault((reason, host), (reason, host, url))
    return list(unique.values())
