"""Harmful-keyword library: one Aho-Corasick automaton over all words and whitelist phrases.

The default library lives in ``keywords/<category>.txt`` (one word a line, ``#`` comments) plus
``keywords/whitelist.txt``.
A whitelist phrase suppresses every keyword occurrence it covers: "禁毒" contains "毒", "反诈骗" contains "诈骗", so
anti-drug and anti-fraud education articles do not alert. Because the automaton reports every match, the longest
covering phrase always wins, whatever order the words were added in.

The bureau edits its own library in the database; ``KeywordLibrary.from_entries`` builds the same automaton from those
rows. Build a library once and reuse it: the automaton is the expensive part, a scan is a single C call.
"""

from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import ahocorasick
from django.utils.translation import gettext_noop

from ..vocabulary import HARMFUL_KEYWORDS, KEYWORD_CATEGORIES
from .page import Page, context, fold
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


class KeywordLibrary:
    """Keywords by category plus whitelist phrases, compiled into one automaton."""

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
            automaton.add_word(word, (_WORD, word, category))
        self.whitelist = {fold(phrase.strip()) for phrase in whitelist if phrase.strip()}
        for phrase in self.whitelist:
            if phrase in self.words:
                continue  # a phrase that is also a keyword stays a keyword: the bureau listed it on purpose
            automaton.add_word(phrase, (_WHITE, phrase, ""))
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
        """Non-overlapping keyword matches in ``text``, longest first at each place, whitelist applied."""
        if self._empty or not text:
            return []
        haystack = text if folded else fold(text)
        hits, white_spans = [], []
        for end, (kind, word, category) in self._automaton.iter(haystack):
            start = end - len(word) + 1
            if _is_ascii_alnum(word[0]) and start > 0 and _is_ascii_alnum(haystack[start - 1]):
                continue  # "h动画" inside "flash动画", "a片" inside "java片段"
            if _is_ascii_alnum(word[-1]) and end + 1 < len(haystack) and _is_ascii_alnum(haystack[end + 1]):
                continue
            if kind == _WHITE:
                white_spans.append((start, end + 1))
            else:
                hits.append(KeywordMatch(start, end + 1, word, category))
        if white_spans:
            hits = [hit for hit in hits if not any(s <= hit.start and hit.end <= e for s, e in white_spans)]
        hits.sort(key=lambda hit: (hit.start, hit.start - hit.end))
        kept, reach = [], -1
        for hit in hits:
            if hit.start >= reach:  # drop "赌场" inside an already reported "澳门赌场"
                kept.append(hit)
                reach = hit.end
        return kept

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
        folded = page.folded_text if field_name == "text" else fold(text)
        for match in library.scan(folded, folded=True):
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
