"""Harmful-keyword library: one Aho-Corasick automaton over all words and whitelist phrases.

The default library lives in ``keywords/<category>.txt`` (one word a line, ``#`` comments) plus
``keywords/whitelist.txt``.
A whitelist phrase suppresses every keyword occurrence it covers: "禁毒" contains "毒", "反诈骗" contains "诈骗", so
anti-drug and anti-fraud education articles do not alert. Because the automaton reports every match, the longest
covering phrase always wins, whatever order the words were added in.

The bureau edits its own library in the database; ``KeywordLibrary.from_entries`` builds the same automaton from those
rows. Build a library once and reuse it: the automaton is the expensive part, a scan is a single C call.
"""

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import ahocorasick
from django.utils.translation import gettext_noop

from ..vocabulary import HARMFUL_KEYWORDS, KEYWORD_CATEGORIES
from .page import FOLD_TABLE, Page, context, fold
from .results import HIGH, MEDIUM, Detection

DATA_DIR = Path(__file__).resolve().parent / "keywords"
WHITELIST_FILE = "whitelist.txt"

# Categories whose hits make the page a high-severity finding (and count as spam payload for hidden links).
HIGH_RISK_CATEGORIES = frozenset({"pornography", "gambling", "drugs_weapons"})
# Categories that mark spam payload in hidden blocks and cloaked variants (political wording is not link spam).
SPAM_CATEGORIES = frozenset(KEYWORD_CATEGORIES) - {"political"}

MAX_REPORTED = 50
CONTEXT_CHARS = 15

_WORD = 0
_WHITE = 1


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    start: int  # offset into the scanned text
    end: int  # exclusive
    word: str
    category: str


def _is_ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _ascii_alnum_ends(word: str) -> tuple[bool, bool]:
    """Whether the word starts and ends with an ASCII letter or digit (such words must not touch another one)."""
    return _is_ascii_alnum(word[0]), _is_ascii_alnum(word[-1])


def read_directory(directory: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """A library directory as ``[(category, word), ...]`` (one ``<category>.txt`` per category) and the whitelist
    phrases of its ``WHITELIST_FILE``."""
    entries, whitelist = [], []
    for path in sorted(directory.glob("*.txt")):
        words = list(read_word_file(path))
        if path.name == WHITELIST_FILE:
            whitelist.extend(words)
        else:
            entries.extend((path.stem, word) for word in words)
    return entries, whitelist


def _utf8_folding(words) -> tuple[re.Pattern | None, dict[bytes, bytes]]:
    """How to fold UTF-8 text for matching ``words`` (all folded): ``bytes.lower`` folds ASCII letters, and of the
    other characters that ``fold`` changes (full-width forms, the ideographic space) only those whose folded character
    occurs in some word need replacing. The others can occur in no word either way (a word never holds a character
    that folds), so folding them or not finds the same words; and folding keeps one character for one.

    The pattern finding those characters is a byte, then classes of continuation bytes (one literal first byte lets
    the search skip ahead in C, an alternation of whole sequences would not).
    """
    in_words = {char for word in words for char in word if char.isascii()}
    replacements = {
        chr(code).encode("utf-8"): chr(value).encode("utf-8")
        for code, value in FOLD_TABLE.items()
        if code > 0x7F and chr(value) in in_words
    }
    if not replacements:
        return None, replacements
    by_lead: dict[int, dict[int, list[int]]] = {}
    for sequence in replacements:  # three bytes each (U+3000, U+FF01-U+FF5E)
        by_lead.setdefault(sequence[0], {}).setdefault(sequence[1], []).append(sequence[2])
    alternatives = []
    for lead, seconds in sorted(by_lead.items()):
        branches = [re.escape(bytes([second])) + b"[" + b"".join(re.escape(bytes([third])) for third in sorted(thirds))
                    + b"]" for second, thirds in sorted(seconds.items())]  # fmt: skip
        alternatives.append(re.escape(bytes([lead])) + b"(?:" + b"|".join(branches) + b")")
    return re.compile(b"|".join(alternatives)), replacements


def _as_bytes(text: str) -> str:
    """The UTF-8 bytes of ``text``, one character per byte (what the automaton reads)."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


class KeywordLibrary:
    """Keywords by category plus whitelist phrases, compiled into one automaton.

    The automaton reads UTF-8 bytes rather than characters. pyahocorasick finds a node's child by a linear search, and
    the root of a character automaton has a child for each distinct first character of a word (hundreds), searched in
    full for every character of ordinary text that starts no word (well over 100 ns a character). The first bytes of the
    words are a handful, so the byte automaton is several times faster; UTF-8 being self-synchronising, a word's bytes
    occur in the text's bytes exactly where the word occurs in the text.
    """

    def __init__(self, entries, whitelist=()):
        automaton = ahocorasick.Automaton()
        self.words: dict[str, str] = {}
        for category, word in entries:
            word = fold(word.strip())
            if not word:
                continue
            if category not in KEYWORD_CATEGORIES:
                category = "other"
            self.words[word] = category
            automaton.add_word(_as_bytes(word), (_WORD, word, category, *_ascii_alnum_ends(word)))
        self.whitelist = {fold(phrase.strip()) for phrase in whitelist if phrase.strip()}
        for phrase in self.whitelist:
            if phrase in self.words:
                continue  # a phrase that is also a keyword stays a keyword: the bureau listed it on purpose
            automaton.add_word(_as_bytes(phrase), (_WHITE, phrase, "", *_ascii_alnum_ends(phrase)))
        self._folding = _utf8_folding([*self.words, *self.whitelist])
        # Whether a word or phrase holds white space, i.e. could run across two text nodes joined by a separator.
        self.has_whitespace = bool(re.search(r"\s", "".join([*self.words, *self.whitelist])))
        self._empty = not self.words
        if not self._empty:
            automaton.make_automaton()
        self._automaton = automaton

    @classmethod
    def from_entries(cls, entries, whitelist=()) -> "KeywordLibrary":
        """Build from ``(category, word)`` pairs, e.g. the bureau's rows in the database."""
        return cls(entries, whitelist)

    @classmethod
    def from_directory(cls, directory: Path) -> "KeywordLibrary":
        entries, whitelist = read_directory(directory)
        return cls(entries, whitelist)

    @classmethod
    def default(cls) -> "KeywordLibrary":
        """The library shipped in ``keywords/``, built once per process."""
        return _default_library()

    def __len__(self) -> int:
        return len(self.words)

    def scan(self, text: str, *, folded: bool = False) -> list[KeywordMatch]:
        """Non-overlapping keyword matches in ``text``, longest first at each place, whitelist applied.

        ``folded`` says that ``text`` is already ``fold``-ed (folding again changes nothing, so it is only a hint).
        """
        if self._empty or not text:
            return []
        occurrences = self._occurrences(text)
        if not occurrences:
            return []
        haystack = None
        hits, white_spans = [], []
        for end, (kind, word, category, alnum_first, alnum_last) in occurrences:
            start = end - len(word) + 1
            if alnum_first or alnum_last:
                if haystack is None:
                    haystack = text if folded else fold(text)
                if alnum_first and start > 0 and _is_ascii_alnum(haystack[start - 1]):
                    continue  # "h动画" inside "flash动画", "a片" inside "java片段"
                if alnum_last and end + 1 < len(haystack) and _is_ascii_alnum(haystack[end + 1]):
                    continue
            if kind == _WHITE:
                white_spans.append((start, end + 1))
            else:
                hits.append((start, start - end - 1, word, category))  # sorts by start, then longest first
        if white_spans:
            hits = [hit for hit in hits if not any(s <= hit[0] and hit[0] - hit[1] <= e for s, e in white_spans)]
        hits.sort()
        kept, reach = [], -1
        for start, negative_length, word, category in hits:
            if start >= reach:  # drop "赌场" inside an already reported "澳门赌场"
                reach = start - negative_length
                kept.append(KeywordMatch(start, reach, word, category))
        return kept

    def _occurrences(self, text: str) -> list[tuple[int, tuple]]:
        """Every occurrence of every word and phrase in ``fold(text)``: (index of its last character, value).

        The text is folded on its UTF-8 bytes (``_folded_utf8``), which is cheaper than ``fold`` on CJK text; folding
        maps one character to one, so character offsets are those of ``text``.
        """
        if text.isascii():
            return list(self._automaton.iter(text.lower()))  # fold of ASCII; one byte per character
        encoded = self._folded_utf8(text)
        found = list(self._automaton.iter(encoded.decode("latin-1")))
        if not found:
            return found
        # Byte offsets to character offsets, counting characters between the (few) occurrences in order.
        found.sort(key=lambda item: item[0])
        converted, byte_at, char_at = [], 0, 0
        for end, value in found:
            byte_end = end + 1
            char_at += len(encoded[byte_at:byte_end].decode("utf-8", "surrogatepass"))
            byte_at = byte_end
            converted.append((char_at - 1, value))
        return converted

    def _folded_utf8(self, text: str) -> bytes:
        """The UTF-8 bytes of ``fold(text)``, except for characters that cannot matter (see ``_utf8_folding``)."""
        encoded = text.encode("utf-8", "surrogatepass").lower()
        pattern, replacements = self._folding
        if pattern is not None:
            for sequence in set(pattern.findall(encoded)):
                encoded = encoded.replace(sequence, replacements[sequence])
        return encoded

    def has_spam(self, text: str) -> bool:
        return any(match.category in SPAM_CATEGORIES for match in self.scan(text))


def read_word_file(path: Path):
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


@cache
def _default_library() -> KeywordLibrary:
    return KeywordLibrary.from_directory(DATA_DIR)


def find_keywords(page: Page, library: KeywordLibrary) -> Detection | None:
    """One HARMFUL_KEYWORDS detection listing every match in the title, meta tags, text and alt/title attributes."""
    fields = [
        ("title", page.title),
        ("meta", " ".join(page.meta.get(name, "") for name in ("keywords", "description"))),
        ("text", page.text),
        ("attribute", "\n".join(page.attribute_texts)),
    ]
    found, categories, cursors = [], Counter(), {}
    for field_name, text in fields:
        if not text:
            continue
        matches = page.keyword_matches(library) if field_name == "text" else library.scan(text)
        for match in matches:
            categories[match.category] += 1
            if len(found) >= MAX_REPORTED:
                continue
            original = text[match.start : match.end]
            spans = page.find_in_source(original, limit=1, start=cursors.get(original, 0))
            if not spans and original in cursors:
                spans = page.find_in_source(original, limit=1)
            entry = {
                "word": match.word,
                "category": match.category,
                "field": field_name,
                "context": context(text, match.start, match.end, CONTEXT_CHARS),
            }
            if spans:
                entry.update(spans[0])
                cursors[original] = spans[0]["offset"] + spans[0]["length"]
            found.append(entry)
    if not categories:
        return None
    severe = HIGH_RISK_CATEGORIES & categories.keys()
    return Detection(
        kind=HARMFUL_KEYWORDS,
        severity=HIGH if severe else MEDIUM,
        summary=gettext_noop("Harmful keywords found on the page."),
        evidence={
            "categories": dict(categories.most_common()),
            "keywords": found,
            "matches": [{"offset": e["offset"], "length": e["length"]} for e in found if "offset" in e],
        },
    )
