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
much new text carries spam keywords, when the title changed beyond recognition or became foreign-language or spam, or
when the redirects now lead to another site than the baseline's (``site``: the registrable domain the reviewed page was
served from).
"""

import re
import zlib
from array import array
from functools import cache, cached_property
from itertools import compress

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from ..vocabulary import DEFACEMENT, HARMFUL_KEYWORDS
from .domains import site_of
from .keywords import HIGH_RISK_CATEGORIES, KeywordLibrary
from .page import _MEM_ID, _PARENT, REGION_DEPTH, Page  # noqa: F401 - REGION_DEPTH belongs to the fingerprint
from .results import CRITICAL, HIGH, Detection

FINGERPRINT_VERSION = 1
SHINGLE = 4
SAMPLE = 4
LIST_ITEMS = 5

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
    "other_site": _("Served by another site after redirects"),
}


_NOT_LETTERS_RE = re.compile(r"[\W\d_]+")


def _hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


_ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")
_FAST_NORMALISE_FROM = 64  # characters


@cache
def _bmp_not_letters_re() -> re.Pattern:
    """``_NOT_LETTERS_RE`` for text without characters beyond the BMP, spelled as explicit ranges.

    ``\\W`` and ``\\d`` look every character up in the Unicode database; a class of explicit BMP ranges is one bitmap
    test (the pattern's own class decides, once per process, which characters are in it).
    """
    single = re.compile(r"[\W\d_]")
    ranges: list[list[int]] = []
    for code in range(0x10000):
        if single.match(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    characters = "[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges) + "]"
    return re.compile(characters + characters + "*")  # a leading class lets the search skip letters in C


def normalise(text: str) -> str:
    """Keep letters only: digits, white space and punctuation change on every visit without meaning anything."""
    if len(text) < _FAST_NORMALISE_FROM or _ASTRAL_RE.search(text):
        return _NOT_LETTERS_RE.sub("", text)
    return _bmp_not_letters_re().sub("", text)


def shingles(text: str) -> set[int]:
    """Sampled CRC-32 hashes of the character 4-grams of ``text`` (stable across processes, unlike ``hash``).

    The reference definition; ``_sampled_shingles`` computes the same sets for many texts at once, faster.
    """
    if len(text) < SHINGLE:
        return {_hash(text)} if text else set()
    # UTF-32 gives every character four bytes, so a 4-gram is a fixed 16-byte window of one buffer.
    buffer = memoryview(text.encode("utf-32-le"))
    width = SHINGLE * 4
    crc32 = zlib.crc32
    hashes = {crc32(buffer[start : start + width]) for start in range(0, len(buffer) - width + 1, 4)}
    return {value for value in hashes if value % SAMPLE == 0}


# --- Fast sampled shingles -------------------------------------------------------------------------------------------
#
# Only a quarter of the 4-grams are kept (CRC-32 divisible by 4), so most of the work of ``shingles`` is hashing windows
# that are thrown away. CRC-32 is affine over GF(2) for a fixed length: the CRC of a 16-byte window is
# ``Z ^ D[0][byte 0] ^ ... ^ D[15][byte 15]`` (Z the CRC of 16 zero bytes). So are its two low bits, and those decide
# the sample. For each character we pack the two-bit contribution of each of its four possible slots in the window
# into one byte (from the bytes of its UTF-32 code: ``bytes.translate`` with 256-entry tables), and combine the four
# slots of every window with shifts of one big integer. That tells which windows are kept before any is hashed;
# only those are then hashed with ``zlib.crc32``, exactly as ``shingles`` does.

_WINDOW = SHINGLE * 4
_ZERO_CRC = zlib.crc32(bytes(_WINDOW))


def _slot_table(byte_in_char: int) -> bytes:
    """Byte value -> packed low-two-bit contributions of that byte of a character in slots 0..3 of a window."""
    table = bytearray(256)
    for value in range(256):
        packed = 0
        for slot in range(SHINGLE):
            window = bytearray(_WINDOW)
            window[slot * 4 + byte_in_char] = value
            packed |= ((zlib.crc32(window) ^ _ZERO_CRC) & 3) << (2 * slot)
        table[value] = packed
    return bytes(table)


_SLOT_TABLES = [_slot_table(index) for index in range(3)]  # the fourth UTF-32 byte is always 0
_KEPT = bytes(int(value == (_ZERO_CRC & 3)) for value in range(256))  # two low bits of the CRC == 0 (see above)
_CHUNK = 4096  # windows per slice table; longer texts are done in pieces
_SLICES = [slice(start * 4, start * 4 + _WINDOW) for start in range(_CHUNK)]


def _kept_windows(text: str) -> bytes:
    """One byte per 4-gram of ``text`` (``len(text) - 3`` of them): 1 when its CRC-32 is divisible by 4."""
    encoded = text.encode("utf-32-le")
    count = len(text) - SHINGLE + 1
    packed = 0
    for index, table in enumerate(_SLOT_TABLES):
        plane = encoded[index::4]
        if index == 0 or plane.strip(b"\0"):  # a zero byte contributes nothing
            packed ^= int.from_bytes(plane.translate(table), "little")
    # Byte i of the result: slot 0 of character i, slot 1 of character i+1, slot 2 of i+2 and slot 3 of i+3.
    combined = packed ^ (packed >> 10) ^ (packed >> 20) ^ (packed >> 30)
    combined &= int.from_bytes(b"\3" * count, "little")
    return combined.to_bytes(count, "little").translate(_KEPT)


def _sampled_shingles(texts: list[str]) -> list[set[int]]:
    """``[shingles(text) for text in texts]``."""
    results = []
    long_texts = [text for text in texts if len(text) >= SHINGLE]
    kept = _kept_windows("".join(long_texts)) if long_texts else b""
    crc32 = zlib.crc32
    position = 0
    for text in texts:
        if len(text) < SHINGLE:
            results.append({_hash(text)} if text else set())
            continue
        windows = len(text) - SHINGLE + 1
        encoded = text.encode("utf-32-le")
        found = set()
        for first in range(0, windows, _CHUNK):
            last = min(windows, first + _CHUNK)
            piece = encoded[first * 4 : last * 4 + _WINDOW - 4] if first or last < windows else encoded
            selected = compress(range(last - first), kept[position + first : position + last])
            found.update(map(crc32, map(piece.__getitem__, map(_SLICES.__getitem__, selected))))
        results.append(found)
        position += len(text)
    return results


# --- Regions and structure ---------------------------------------------------------------------------------------


# Normalising every region in one regular-expression call: regions are joined with a letter that ``normalise`` keeps
# and that does not occur in the text, then split again.
_REGION_SEPARATOR = "\ua66e"
assert _NOT_LETTERS_RE.sub("", _REGION_SEPARATOR) == _REGION_SEPARATOR, "the separator must be a letter"


def _normalise_all(texts: list[str]) -> list[str]:
    joined = _REGION_SEPARATOR.join(texts)
    if joined.count(_REGION_SEPARATOR) != len(texts) - 1:
        return [normalise(text) for text in texts]
    return normalise(joined).split(_REGION_SEPARATOR)


def _combine_tags(tags: list[int]) -> set[int]:
    """``{(a * 29791 + b * 961 + c * 31 + d) & 0xFFFFFFFF for each four consecutive tag hashes a, b, c, d}``.

    Computed on one big integer holding a hash in each 64-bit lane: a hash is below 2**32, so a lane's weighted sum
    stays below 2**48 and never carries into the next lane; the shifted copies line up the following tags.
    """
    count = len(tags) - 3
    if count <= 0:
        return set()
    lanes = int.from_bytes(array("Q", tags).tobytes(), "little")
    combined = lanes * 29791 + (lanes >> 64) * 961 + (lanes >> 128) * 31 + (lanes >> 192)
    combined &= int.from_bytes(b"\xff\xff\xff\xff\0\0\0\0" * count, "little")
    return set(memoryview(combined.to_bytes(8 * count + 8, "little")).cast("Q")[:count])


_TAG_HASHES_MAX = 50_000


class _TagHashes(dict):
    """CRC-32 of tag strings, kept across pages (tags and classes repeat from page to page)."""

    def __missing__(self, tag: str) -> int:
        if len(self) >= _TAG_HASHES_MAX:
            self.clear()
        value = self[tag] = _hash(tag)
        return value


_TAG_HASHES = _TagHashes()


class Sketch:
    """The fingerprint of one page, computed piece by piece when first needed.

    ``compare`` reads only what it uses: the regions the baseline does not ignore (a news list is neither normalised
    nor shingled), and the structure only when the text alone does not decide. ``fingerprint()`` assembles the full
    JSON-serialisable dict, the same as before it was computed piece by piece (same hashes, same order).
    """

    def __init__(self, page: Page):
        self.page = page
        self.title = page.title
        self._normalised: dict[str, str] = {}  # region key -> normalised text
        self._shingles: dict[str, set[int]] = {}  # region id -> sampled shingles

    @cached_property
    def _texts(self) -> dict[str, list[str]]:
        """Region key -> the texts of its text nodes, in order of first appearance."""
        paths, joined = self.page.region_paths, {}
        texts: dict[str, list[str]] = {}
        parent_ids = map(_MEM_ID, map(_PARENT, self.page.text_nodes))  # a text node always has a parent element
        for parent_id, text in zip(parent_ids, self.page.texts, strict=True):
            key = joined.get(parent_id)
            if key is None:
                key = joined[parent_id] = ">".join(paths.get(parent_id, ()))
            pieces = texts.get(key)
            if pieces is None:
                texts[key] = [text]
            else:
                pieces.append(text)
        return texts

    @cached_property
    def region_ids(self) -> dict[str, list[str]]:
        """Region id (hex CRC-32 of the key) -> its region keys (one, unless two keys share a CRC), in order."""
        ids: dict[str, list[str]] = {}
        for key in self._texts:
            ids.setdefault(format(_hash(key), "x"), []).append(key)
        return ids

    def _normalise(self, keys) -> None:
        missing = [key for key in keys if key not in self._normalised]
        if missing:
            texts = self._texts
            self._normalised.update(zip(missing, _normalise_all(["".join(texts[key]) for key in missing]), strict=True))

    def _value(self, key: str) -> tuple[int, int, int, str]:
        normalised = self._normalised[key]
        return _hash(normalised), len(self._texts[key]), len(normalised), normalised

    @cached_property
    def regions(self) -> dict[str, tuple[int, int, int, str]]:
        """Region id -> (hash of the normalised text, text nodes, normalised length, normalised text); regions
        without letters are left out (and a later key with the same id replaces an earlier one)."""
        self._normalise(self._texts)
        regions = {}
        for key in self._texts:
            if self._normalised[key]:
                regions[format(_hash(key), "x")] = self._value(key)
        return regions

    def regions_among(self, region_ids) -> dict[str, tuple[int, int, int, str]]:
        """``{id: regions[id]}`` for those of ``region_ids`` that are regions, normalising only their texts."""
        if "regions" in self.__dict__:
            return {region_id: self.regions[region_id] for region_id in region_ids if region_id in self.regions}
        ids = self.region_ids
        self._normalise([key for region_id in region_ids for key in ids.get(region_id, ())])
        found = {}
        for region_id in region_ids:
            for key in reversed(ids.get(region_id, ())):
                if self._normalised[key]:
                    found[region_id] = self._value(key)
                    break
        return found

    def shingles_of(self, region_ids) -> dict[str, set[int]]:
        """Sampled shingles of these regions (ids of regions)."""
        missing = [region_id for region_id in region_ids if region_id not in self._shingles]
        if missing:
            regions = self.regions_among(missing)
            computed = _sampled_shingles([regions[region_id][3] for region_id in missing])
            self._shingles.update(zip(missing, computed, strict=True))
        return {region_id: self._shingles[region_id] for region_id in region_ids}

    @cached_property
    def structure(self) -> set[int]:
        """Hashed 4-grams of the element tag sequence, combining the tags' CRC-32 values."""
        sequence = self.page.tag_sequence
        hashes = list(map(_TAG_HASHES.get, sequence))
        if None in hashes:
            hashes = [_TAG_HASHES[tag] for tag in sequence]
        return _combine_tags(hashes)

    def fingerprint(self) -> dict:
        regions = self.regions
        shingle_sets = self.shingles_of(list(regions))
        return {
            "v": FINGERPRINT_VERSION,
            "title": self.title,
            "regions": {
                region_id: [content, sorted(shingle_sets[region_id]), items, length]
                for region_id, (content, items, length, _text) in regions.items()
            },
            "structure": sorted(self.structure),
        }


def fingerprint(page: Page) -> dict:
    return Sketch(page).fingerprint()


def make_baseline(html_samples: list[str], *, url: str = "") -> dict:
    """A baseline from reviewed samples of the same page (JSON-serialisable). ``url``: where the page was served
    from, after its redirects."""
    prints = [fingerprint(Page(html, url=url)) for html in html_samples]
    baseline = baseline_from_fingerprints(prints)
    if url:
        baseline["site"] = site_of(url)
    return baseline


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
    """Defacement of ``analysis`` (a ``PageAnalysis``) against ``baseline``, or None.

    ``baseline`` is what ``make_baseline`` returned, or the same read back from JSON (lists for sets). While the
    analysis' fingerprint is not serialised yet, only the parts compared are computed.
    """
    library = library or KeywordLibrary.default()
    volatile = set(baseline.get("volatile", ()))
    before = set().union(*(value[1] for value in baseline["regions"].values()))
    sketch = getattr(analysis, "pending_sketch", lambda: None)()
    if sketch is not None:
        # Not serialised yet: read only what is compared (volatile regions are never hashed into shingles).
        regions = sketch.regions_among([key for key in sketch.region_ids if key not in volatile])
        now = set().union(*sketch.shingles_of(list(regions)).values())
        current = [(key, value[0], value[2]) for key, value in regions.items()]
    else:
        fingerprint_ = analysis.fingerprint
        now = set().union(*(v[1] for k, v in fingerprint_["regions"].items() if k not in volatile))
        current = [(k, v[0], v[3]) for k, v in fingerprint_["regions"].items() if k not in volatile]
    retained = len(before & now) / len(before) if before else 1.0
    novel = len(now - before) / len(now) if now else 0.0
    # Shingle sets see a block repeated ten times as one block; injected spam is often exactly that, so novelty is
    # also measured by volume: the share of the text that sits in new or changed regions.
    stable = baseline["regions"]
    total = changed = 0
    for key, content, length in current:
        total += length
        if key not in stable or stable[key][0] != content:
            changed += length
    novel = max(novel, changed / total if total else 0.0)

    def structure_similarity() -> float:
        # Only needed when the text alone does not decide (or for the evidence of a detection): the tag sketch of a
        # page is the dearest part of its fingerprint.
        current_structure = sketch.structure if sketch is not None else set(analysis.fingerprint["structure"])
        ignored = set(baseline.get("volatile_structure", ()))
        return _jaccard(set(baseline["structure"]), current_structure - ignored)

    titles = [title for title in baseline.get("titles", []) if title]
    title = analysis.title
    title_score = max((title_similarity(title, old) for old in titles), default=1.0)

    reasons, structure = [], None
    if retained < REPLACED_BELOW:
        reasons.append("content_replaced")
    elif retained < LAYOUT_TEXT_BELOW:
        structure = structure_similarity()
        if structure < LAYOUT_CHANGED_BELOW:
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
    site, now_site = baseline.get("site"), site_of(analysis.url)
    if site and now_site and now_site != site:
        reasons.append("other_site")  # hijacked to another site, or moved to a platform: either way, to review
    if not reasons:
        return None
    if structure is None:
        structure = structure_similarity()
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
            "url": analysis.url,
            "baseline_site": site or "",
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
