"""Names shared by the probe engine, the content analysers, the simulated site farm and the storage.

Plain constants with no model import, so that the engine and the analysers stay usable outside Django (benchmarks,
the farm process). Labels are lazy translations for the pages and the catalogue; the identifiers are what is stored
in the database and written into evidence.
"""

from django.utils.translation import gettext_lazy as _

# --- Check kinds: one Check row per (target, kind), each with its own interval -------------------------------------

HTTP = "http"  # availability, status, latency, redirect chain, body hash; keyword quick match on the body
TLS = "tls"  # certificate validity, chain, host name, days to expiry, protocol version
DNS = "dns"  # resolution of the host name
IPV6 = "ipv6"  # AAAA present and the site answers over IPv6
CONTENT = "content"  # full analysis: defacement, hidden links, malicious scripts, keywords, PI, footer, cloaking

CHECK_KINDS = {
    HTTP: _("Availability"),
    TLS: _("TLS certificate"),
    DNS: _("DNS resolution"),
    IPV6: _("IPv6"),
    CONTENT: _("Content"),
}

# --- Detection kinds: what a check can report; each (check, kind) has at most one open finding ---------------------

DOWN = "down"
HTTP_ERROR = "http_error"
SLOW = "slow"
TLS_INVALID = "tls_invalid"  # expired, self-signed, untrusted chain, wrong host name
TLS_EXPIRING = "tls_expiring"
TLS_WEAK_PROTOCOL = "tls_weak_protocol"
DNS_FAILURE = "dns_failure"
IPV6_MISSING = "ipv6_missing"
DEFACEMENT = "defacement"
HIDDEN_LINKS = "hidden_links"  # 暗链
MALICIOUS_SCRIPT = "malicious_script"  # 挂马
HARMFUL_KEYWORDS = "harmful_keywords"
PERSONAL_INFO = "personal_info"
MISSING_REGISTRATION = "missing_registration"  # ICP / 公网安备 number absent from the footer
CLOAKING = "cloaking"
STALE_SITE = "stale_site"  # 僵尸: unchanged for a long time or outdated software banner

DETECTION_KINDS = {
    DOWN: _("Site down"),
    HTTP_ERROR: _("HTTP error status"),
    SLOW: _("Slow response"),
    TLS_INVALID: _("Invalid certificate"),
    TLS_EXPIRING: _("Certificate expiring"),
    TLS_WEAK_PROTOCOL: _("Weak TLS protocol"),
    DNS_FAILURE: _("DNS resolution failure"),
    IPV6_MISSING: _("No IPv6 access"),
    DEFACEMENT: _("Defacement"),
    HIDDEN_LINKS: _("Hidden links"),
    MALICIOUS_SCRIPT: _("Malicious script"),
    HARMFUL_KEYWORDS: _("Harmful keywords"),
    PERSONAL_INFO: _("Personal information exposure"),
    MISSING_REGISTRATION: _("Missing ICP / public-security filing number"),
    CLOAKING: _("Cloaking"),
    STALE_SITE: _("Stale site"),
}

# --- Hidden-link (暗链) techniques, named in the evidence (domain.md §5) ---------------------------------------------

# What went wrong with a probe, by the engine's error code (``engine/targets.py``, stored on the check and its probe
# records), in the reader's language; the engine's own words are kept beside it as the detail.
PROBE_ERROR_LABELS = {
    "refused": _("connection refused"),
    "connect": _("connection lost"),
    "timeout": _("no answer in time"),
    "dns": _("name not resolved"),
    "tls": _("TLS handshake failed"),
    "http": _("HTTP error status"),
    "protocol": _("malformed answer"),
    "too_large": _("page too large"),
    "invalid_url": _("invalid address"),
    "internal": _("internal error"),
}

HIDDEN_LINK_TECHNIQUES = {
    "css_display_none": _("CSS display:none"),
    "css_visibility_hidden": _("CSS visibility:hidden"),
    "css_opacity_zero": _("CSS opacity 0"),
    "css_zero_size": _("CSS zero width/height with overflow hidden"),
    "css_font_size_zero": _("CSS font-size 0"),
    "css_same_colour": _("Text colour equal to the background"),
    "css_text_indent": _("Negative text-indent"),
    "css_clip": _("CSS clip / clip-path"),
    "offscreen_position": _("Absolute position off screen"),
    "negative_margin": _("Large negative margin"),
    "marquee_tiny": _("Tiny or ultra-fast marquee"),
    "js_write_hidden": _("Script writes a hidden wrapper around links"),
    "js_hide_after_load": _("Script hides a block after load"),
    "noscript_links": _("Links inside <noscript>"),
    "comment_links": _("Links inside HTML comments"),
    "data_attribute_links": _("Links inside data attributes"),
    "bare_domain_text": _("Bare spam domains in the text"),
    "zero_size_iframe": _("Zero-size or hidden iframe"),
    "cloaking_spider": _("Different content for search-engine spiders"),
    "cloaking_mobile": _("Different content for mobile visitors"),
    "cloaking_referer": _("Different content for visitors from a search engine"),
}

# --- Keyword categories of the harmful-content library ------------------------------------------------------------

KEYWORD_CATEGORIES = {
    "gambling": _("Gambling"),
    "pornography": _("Pornography"),
    "fraud": _("Fraud"),
    "private_server": _("Private game servers"),
    "drugs_weapons": _("Drugs and weapons"),
    "political": _("Politically sensitive wording"),
    "other": _("Other"),
}

# --- Scenarios of the simulated school-site farm (``edusec simfarm``) ---------------------------------------------

FARM_SCENARIOS = (
    [
        "healthy",
        "dynamic",  # benign: rotating news list, date, counter, carousel, accessible hidden menu, marquee news ticker
        "slow",
        "error",  # HTTP 500
        "timeout",  # accepts the connection, never answers
        "refused",  # nothing listens for this site (connection closed at once)
        "defaced",
        "malicious_script",
        "keywords",
        "id_leak",
        "missing_icp",
        "stale",  # old software banner, Last-Modified years ago
    ]
    + [f"hidden_{technique}" for technique in HIDDEN_LINK_TECHNIQUES if not technique.startswith("cloaking_")]
    + [
        "cloaking_spider",
        "cloaking_mobile",
        "cloaking_referer",
        "cloaking_referer_redirect",  # an HTTP 302 to the spam site for visitors from a search engine
    ]
)

FARM_TLS_VARIANTS = ["none", "valid", "expiring", "expired", "self_signed", "wrong_host", "null_prefix"]
# How a farm site encodes its pages: UTF-8, or GBK as older school CMSs do (declared by <meta charset="gb2312"> only).
FARM_CHARSETS = ["utf-8", "gbk"]
