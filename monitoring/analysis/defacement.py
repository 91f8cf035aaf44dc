"""Defacement (网页篡改/黑页): compare a page with a reviewed baseline.

The fingerprint of a page is small and JSON-serialisable:

* ``regions``: the visible text grouped by *region* (the tag path up to the nearest element with an id or class, e.g.
  ``div.news>ul>li>a``). Each region keeps a hash of its normalised text, a sample of its character 4-gram
  shingles, its number of text nodes and its normalised length. Normalising strips digits, white space and
  punctuation, so dates, times, visit counters and page numbers never count as change. Shingles are sampled by hash
  value (kept when ``hash % SAMPLE == 0``), which keeps set operations and Jaccard estimates valid while storing a
  quarter of them.
* ``structure``: the set of hashed 4-grams of the element tag sequence, which changes when the markup is replaced.
* ``title``.

A baseline is built from one or more samples. Regions whose text differs between samples (news lists, carousels,
"today" boxes) are *volatile* and ignored; with a single sample, list-like regions (five or more items with the same
path) are treated as volatile too, because news lists are the part of a school page that changes every day.

The page is defaced when little of the baseline's stable text is left, when both layout and text changed a lot, when
much new text carries spam keywords, or when the title changed beyond recognition or became foreign-language or spam.
"""

import re
import zlib

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from ..vocabulary import DEFACEMENT, HARMFUL_KEYWORDS
from .keywords import HIGH_RISK_CATEGORIES, KeywordLibrary
from .page import Page
from .results import CRITICAL, HIGH, Detection

FINGERPRINT_VERSION = 1
SHINGLE = 4
SAMPLE = 4
LIST_ITEMS = 5
REGION_DEPTH = 6

# Decision thresholds (fractions of sampled shingles).
REPLACED_BELOW = 0.35  # less than this much of the baseline's stable text remains
LAYOUT_CHANGED_BELOW = 0.5  # structure similarity below this, together with...
LAYOUT_TEXT_BELOW = 0.75  # ...retained text below this
SPAM_NOVEL_AT_LEAST = 0.2  # share of new text when that text brings high-risk keywords
TITLE_SIMILAR_BELOW = 0.34
CJK_TITLE = 0.5  # a Chinese title: at least half of its letters are CJK
FOREIGN_TITLE = 0.2  # a foreign title: less than a fifth

REASONS = {
    "content_replaced": _("Most of the reviewed content is gone"),
    "layout_replaced": _("Layout and content changed"),
    "spam_content": _("New content with harmful keywords"),
    "title_changed": _("Title changed"),
    "foreign_title": _("Foreign-language title"),
    "spam_title": _("Harmful keywords in the title"),
}


_NOT_LETTERS_RE = re.compile(r"[\W\d_]+")


def _hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def normalise(text: str) -> str:
    """Keep letters only: digits, white space and punctuation change on every visit without meaning anything."""
    return _NOT_LETTERS_RE.sub("", text)


def shingles(text: str) -> set[int]:
    """Sampled CRC-32 hashes of the character 4-grams of ``text`` (stable across processes, unlike ``hash``)."""
    if len(text) < SHINGLE:
        return {_hash(text)} if text else set()
    # UTF-32 gives every character four bytes, so a 4-gram is a fixed 16-byte window of one buffer.
    buffer = memoryview(text.encode("utf-32-le"))
    width = SHINGLE * 4
    crc32 = zlib.crc32
    hashes = {crc32(buffer[start : start + width]) for start in range(0, len(buffer) - width + 1, 4)}
    return {value for value in hashes if value % SAMPLE == 0}


class _RegionKeys:
    """Region key of a text node: the tag path up to the nearest ancestor with an id or class.

    Memoised per element, because the text nodes of a list share all but their last ancestors.
    """

    def __init__(self):
        self.cache: dict[int, tuple[str, ...]] = {}

    def of_element(self, node) -> tuple[str, ...]:
        key = self.cache.get(node.mem_id)
        if key is not None:
            return key
        tag = node.tag
        if tag in ("body", "html", "head") or tag.startswith("-"):
            key = ()
        else:
            attributes = node.attributes
            if attributes.get("id"):
                key = (f"{tag}#{attributes['id']}",)
            elif attributes.get("class"):
                key = (f"{tag}.{attributes['class'].split()[0]}",)
            else:
                parent = node.parent
                key = ((self.of_element(parent) if parent is not None else ()) + (tag,))[-REGION_DEPTH:]
        self.cache[node.mem_id] = key
        return key

    def __call__(self, text_node) -> str:
        parent = text_node.parent
        return ">".join(self.of_element(parent)) if parent is not None else ""


def _tag_hash(tag: str, cache: dict) -> int:
    value = cache.get(tag)
    if value is None:
        value = cache[tag] = _hash(tag)
    return value


def fingerprint(page: Page) -> dict:
    region_key = _RegionKeys()
    texts: dict[str, list[str]] = {}
    for node, text in zip(page.text_nodes, page.texts, strict=True):
        texts.setdefault(region_key(node), []).append(text)
    regions = {}
    for key, pieces in texts.items():
        normalised = normalise("".join(pieces))
        if not normalised:
            continue
        regions[format(_hash(key), "x")] = [
            _hash(normalised),
            sorted(shingles(normalised)),
            len(pieces),
            len(normalised),
        ]
    # Structure: 4-grams of the element tag sequence, hashed by combining the tags' CRC-32 values.
    cache = {}
    tags = [_tag_hash(tag, cache) for tag in page.tag_sequence]
    structure = {
        (a * 29791 + b * 961 + c * 31 + d) & 0xFFFFFFFF
        for a, b, c, d in zip(tags, tags[1:], tags[2:], tags[3:], strict=False)
    }
    return {"v": FINGERPRINT_VERSION, "title": page.title, "regions": regions, "structure": sorted(structure)}


def make_baseline(html_samples: list[str], *, url: str = "") -> dict:
    """A baseline from reviewed samples of the same page (JSON-serialisable)."""
    prints = [fingerprint(Page(html, url=url)) for html in html_samples]
    return baseline_from_fingerprints(prints)


def baseline_from_fingerprints(prints: list[dict]) -> dict:
    if not prints:
        raise ValueError("a baseline needs at least one sample")
    first = prints[0]
    volatile = set()
    for key, (content, _shingles, items, _length) in first["regions"].items():
        if len(prints) == 1 and items >= LIST_ITEMS:
            volatile.add(key)
        for other in prints[1:]:
            if other["regions"].get(key, [None])[0] != content:
                volatile.add(key)
    for other in prints[1:]:
        volatile |= other["regions"].keys() - first["regions"].keys()
    structure = set(first["structure"])
    volatile_structure = set()
    for other in prints[1:]:
        volatile_structure |= structure ^ set(other["structure"])
    return {
        "v": FINGERPRINT_VERSION,
        "samples": len(prints),
        "titles": sorted({p["title"] for p in prints}),
        "regions": {key: value for key, value in first["regions"].items() if key not in volatile},
        "volatile": sorted(volatile),
        "structure": sorted(structure - volatile_structure),
        "volatile_structure": sorted(volatile_structure),
    }


def _jaccard(first: set, second: set) -> float:
    union = first | second
    return len(first & second) / len(union) if union else 1.0


def _bigrams(title: str) -> set[str]:
    text = normalise(title.lower())
    return {text[i : i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


def title_similarity(first: str, second: str) -> float:
    return _jaccard(_bigrams(first), _bigrams(second))


def cjk_ratio(text: str) -> float:
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return 0.0
    return sum("\u4e00" <= char <= "\u9fff" for char in letters) / len(letters)


def title_spam(title: str, library: KeywordLibrary) -> list[str]:
    return [m.word for m in library.scan(title) if m.category in HIGH_RISK_CATEGORIES]


def compare(baseline: dict, analysis, library: KeywordLibrary | None = None) -> Detection | None:
    """Defacement of ``analysis`` (a ``PageAnalysis``) against ``baseline``, or None."""
    library = library or KeywordLibrary.default()
    current = analysis.fingerprint
    volatile = set(baseline.get("volatile", ()))
    before = set().union(*(set(value[1]) for value in baseline["regions"].values()))
    now = set().union(*(set(v[1]) for k, v in current["regions"].items() if k not in volatile))
    retained = len(before & now) / len(before) if before else 1.0
    novel = len(now - before) / len(now) if now else 0.0
    # Shingle sets see a block repeated ten times as one block; injected spam is often exactly that, so novelty is
    # also measured by volume: the share of the text that sits in new or changed regions.
    stable = baseline["regions"]
    total = changed = 0
    for key, value in current["regions"].items():
        if key in volatile:
            continue
        total += value[3]
        if key not in stable or stable[key][0] != value[0]:
            changed += value[3]
    novel = max(novel, changed / total if total else 0.0)
    ignored = set(baseline.get("volatile_structure", ()))
    structure = _jaccard(set(baseline["structure"]), set(current["structure"]) - ignored)
    titles = [title for title in baseline.get("titles", []) if title]
    title = analysis.title
    title_score = max((title_similarity(title, old) for old in titles), default=1.0)

    reasons = []
    if retained < REPLACED_BELOW:
        reasons.append("content_replaced")
    elif structure < LAYOUT_CHANGED_BELOW and retained < LAYOUT_TEXT_BELOW:
        reasons.append("layout_replaced")
    keywords = analysis.get(HARMFUL_KEYWORDS)
    if keywords and keywords.severity == HIGH and novel >= SPAM_NOVEL_AT_LEAST:
        reasons.append("spam_content")
    if titles and title_score < TITLE_SIMILAR_BELOW:
        reasons.append("title_changed")
    if titles and max(cjk_ratio(old) for old in titles) >= CJK_TITLE and title and cjk_ratio(title) < FOREIGN_TITLE:
        reasons.append("foreign_title")
    spam_words = title_spam(title, library)
    if spam_words:
        reasons.append("spam_title")
    if not reasons:
        return None
    return Detection(
        kind=DEFACEMENT,
        severity=CRITICAL,
        summary=gettext_noop("The page differs from its reviewed baseline."),
        evidence={
            "reasons": reasons,
            "text_retained": round(retained, 3),
            "text_novel": round(novel, 3),
            "structure_similarity": round(structure, 3),
            "title_similarity": round(title_score, 3),
            "title": title,
            "baseline_titles": titles,
            "title_keywords": spam_words,
            "baseline_samples": baseline.get("samples", 1),
        },
    )


def spam_title_detection(title: str, library: KeywordLibrary) -> Detection | None:
    """Without a baseline, a title carrying gambling or pornography words is still a hijacked page."""
    spam_words = title_spam(title, library)
    if not spam_words:
        return None
    return Detection(
        kind=DEFACEMENT,
        severity=CRITICAL,
        summary=gettext_noop("The page title carries harmful keywords."),
        evidence={"reasons": ["spam_title"], "title": title, "title_keywords": spam_words},
    )
