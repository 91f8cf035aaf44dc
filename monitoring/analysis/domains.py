"""Host names: which links leave the site, and which foreign hosts are harmless.

Hidden-link and script detection hinge on one question: does this URL point to *another* site that is not a well-known
legitimate one? A school page is full of links to itself, to the education authorities and to a handful of national
platforms; a spam injection links to invented gambling or private-server domains. Keeping the allow-lists small and
documented here makes the precision trade-off reviewable in one place.
"""

import re
from urllib.parse import urlsplit

# Suffixes of hosts that are never spam targets: Chinese government and education domains, the filing/reporting
# services every footer links to, national news and education platforms, and the big platforms whose share/follow
# widgets schools embed. Matched on label boundaries ("gov.cn" matches "www.moe.gov.cn", not "evilgov.cn").
TRUSTED_SUFFIXES = (
    "gov.cn",  # all government sites, including moe.gov.cn, beian.miit.gov.cn, beian.gov.cn, cac.gov.cn
    "edu.cn",  # universities and many schools and bureaus
    "12377.cn",  # illegal and harmful information reporting centre
    "cyberpolice.cn",
    "conac.cn",  # 党政机关网站标识 (the red "government site" badge)
    "smartedu.cn",  # national smart education platform
    "xuexi.cn",  # 学习强国
    "people.com.cn",
    "xinhuanet.com",
    "news.cn",
    "cctv.com",
    "chsi.com.cn",  # student records and diplomas
    "weibo.com",
    "qq.com",
    "baidu.com",
    "cnzz.com",
    "51.la",
)

# Second-level labels under which a registrable domain has three labels (hzyz.edu.cn, not edu.cn).
_SECOND_LEVEL = {"com", "net", "org", "gov", "edu", "ac", "mil"}

_TOP_LEVEL = {
    "com", "net", "org", "cn", "cc", "top", "vip", "xyz", "info", "biz", "me", "tv", "la", "co", "io", "club",
    "site", "online", "shop", "win", "bet", "app", "hk", "tw", "asia", "ink", "wang", "ren", "fun", "live", "pro",
    "icu", "work", "example", "test",
}  # fmt: skip

# Bare domains in text: a dotted name with a top-level label we know (so "3.5" or "图1.jpg" never match).
BARE_DOMAIN_RE = re.compile(
    r"(?<![a-z0-9@.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:"
    + "|".join(sorted(_TOP_LEVEL))
    + r"))(?![a-z0-9-]|\.[a-z0-9])",
    re.IGNORECASE,
)

# ``BARE_DOMAIN_RE.finditer`` tries the pattern at every character, which costs about 30 ns a character of CJK text (the
# case-insensitive classes are slow). Its look-behind only lets a match start where a *run* of name characters
# ([a-z0-9@.-], case-insensitive) starts, so a run holds at most one match, at its start; and a match holds a name
# character, a dot and a letter. ``find_bare_domains`` finds those dots with a literal search and tries the pattern
# once at the start of each run around them. The case-insensitive classes also match four non-ASCII characters
# (İ ı ſ K); they are spelled out here, and a test checks these classes against the pattern's own.
_CASE_FOLDED_LETTERS = "\u0130\u0131\u017f\u212a"
_NAME_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@.-\u0130\u0131\u017f\u212a"
)
_DOT_IN_NAME_RE = re.compile(rf"\.(?<=[0-9A-Za-z{_CASE_FOLDED_LETTERS}]\.)[A-Za-z{_CASE_FOLDED_LETTERS}]")
_RUN_END_RE = re.compile(rf"[0-9A-Za-z@.\-{_CASE_FOLDED_LETTERS}]*")


def find_bare_domains(text: str) -> list:
    """``list(BARE_DOMAIN_RE.finditer(text))``, without running the pattern over text that cannot match."""
    found, run_end = [], -1
    for dot in _DOT_IN_NAME_RE.finditer(text):
        position = dot.start()
        if position < run_end:
            continue  # same run as the previous dot
        start = position
        while start and text[start - 1] in _NAME_CHARACTERS:
            start -= 1
        run_end = _RUN_END_RE.match(text, position).end()
        match = BARE_DOMAIN_RE.match(text, start, run_end)
        if match is not None:
            found.append(match)
    return found


# Tokens that mark a host name as gambling, pornography or private-server spam. Long tokens match anywhere in the
# name; short ones must be a whole alphabetic run of a label ("bet365" yes, "alphabet" no).
_SPAM_SUBSTRINGS = (
    "casino", "bocai", "pujing", "xinpujing", "baijiale", "caipiao", "chuanqi", "qipai", "sifu", "porn", "dubo",
    "yule", "weinisi", "jinsha", "kaijiang", "huangguan", "taiyangcheng",
)  # fmt: skip
_SPAM_TOKENS = {"bet", "xpj", "bjl", "lhc", "ssc", "pk", "sex", "av", "xxx", "sf", "cq", "amxpj", "dbj", "hg"}


def host_of(url: str) -> str:
    """Lower-case host of an absolute or protocol-relative URL; '' for relative, mailto:, javascript: and junk."""
    url = url.strip()
    if not url or url[0] in "/#?." and not url.startswith("//"):
        return ""
    lowered = url[:12].lower()
    if lowered.startswith(("javascript:", "mailto:", "tel:", "data:", "about:")):
        return ""
    if not lowered.startswith(("http://", "https://", "//")):
        return ""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")


def registrable_domain(host: str) -> str:
    """The organisation's domain: ``www.hzyz.edu.cn`` -> ``hzyz.edu.cn``, ``www.hzyz.example`` -> ``hzyz.example``."""
    labels = host.lower().strip(".").split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def site_of(url: str) -> str:
    """The site a URL belongs to: its host's registrable domain, or the address itself for an IP address."""
    host = host_of(url)
    if not host or ":" in host or host.replace(".", "").isdigit():
        return host
    return registrable_domain(host)


def matches_suffix(host: str, suffixes) -> bool:
    return any(host == suffix or host.endswith("." + suffix) for suffix in suffixes)


def is_spam_host(host: str) -> bool:
    name = host.lower()
    if any(token in name for token in _SPAM_SUBSTRINGS):
        return True
    for label in name.split(".")[:-1]:
        if any(part in _SPAM_TOKENS for part in re.findall(r"[a-z]+", label)):
            return True
    return False


class SiteScope:
    """Decides whether a host belongs to the monitored site, is trusted, or is foreign.

    The site is the page URL's registrable domain plus every ``site_domains`` entry (with their subdomains), so links to
    ``jw.hzyz.edu.cn`` from ``www.hzyz.edu.cn`` are internal.
    """

    def __init__(self, url: str = "", site_domains=(), trusted=()):
        own = {registrable_domain(h) for h in [host_of(url), *site_domains] if h}
        own |= {d.lower().strip(".") for d in site_domains if d}
        self.own = tuple(sorted(own))
        self.trusted = tuple(TRUSTED_SUFFIXES) + tuple(t.lower() for t in trusted)

    def is_internal(self, host: str) -> bool:
        return not host or matches_suffix(host, self.own)

    def is_foreign(self, host: str) -> bool:
        """Another site that is neither ours nor on the allow-list: the only kind of target that can be spam."""
        return bool(host) and not matches_suffix(host, self.own) and not matches_suffix(host, self.trusted)
