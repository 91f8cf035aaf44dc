"""The keyword library a check's unit is judged by: the default library shipped with EduSec plus the enabled
``KeywordEntry`` rows of the unit and of every unit above it (a bureau's words apply to its whole subtree).

Whitelist entries are whitelist phrases: a keyword occurrence inside one does not count. A bureau whitelist entry that
is exactly a keyword (of the default library or of a unit above) removes that keyword: the bureau has decided that the
word is harmless in its region. (The library itself keeps a keyword that is also a whitelist phrase, which is what the
default files want; the bureau's explicit whitelist is the stronger statement, so it is applied here.)

Building the automaton is the expensive part, so libraries are cached per unit path and shared between units whose
entries are the same (most schools of a region see only their bureau's words). Any save or delete of a keyword entry
clears the cache in this process; other processes (Celery workers, a second web process) pick changes up within
``CACHE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from functools import cache

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .analysis import KeywordLibrary
from .analysis.keywords import DATA_DIR, read_directory
from .analysis.page import fold
from .models import KeywordEntry

CACHE_SECONDS = 60

_lock = threading.Lock()
_by_path: dict[str, tuple[float, KeywordLibrary]] = {}  # unit path → (built at, library)
_by_entries: dict[tuple, KeywordLibrary] = {}  # the applicable rows → library (shared between units)


@cache
def default_entries() -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The shipped library as ``((category, word), ...)`` and whitelist phrases, read once from its data files."""
    entries, whitelist = read_directory(DATA_DIR)
    return tuple(entries), tuple(whitelist)


def default_summary() -> list[dict]:
    """Categories of the shipped library with their word counts (for the keyword pages), whitelist last."""
    from . import vocabulary as v

    entries, whitelist = default_entries()
    counts: dict[str, int] = {}
    for category, _word in entries:
        counts[category] = counts.get(category, 0) + 1
    rows = [
        {"category": key, "label": label, "count": counts.get(key, 0)}
        for key, label in v.KEYWORD_CATEGORIES.items()
        if counts.get(key)
    ]
    return rows + [{"category": "whitelist", "label": None, "count": len(whitelist)}]


def _ancestor_paths(path: str) -> list[str]:
    from orgs.models import Unit

    step = Unit.steplen
    return [path[:end] for end in range(step, len(path) + 1, step)]


def build_library(rows) -> KeywordLibrary:
    """The default library with these ``(category, word, whitelist)`` rows added."""
    entries, whitelist = default_entries()
    if not rows:
        return KeywordLibrary.default()
    own_white = {fold(word.strip()) for _category, word, white in rows if white}
    words = [(category, word) for category, word in entries if fold(word.strip()) not in own_white]
    words += [(category, word) for category, word, white in rows if not white and fold(word.strip()) not in own_white]
    phrases = list(whitelist) + [word for _category, word, white in rows if white]
    return KeywordLibrary.from_entries(words, whitelist=phrases)


def keyword_library_for(unit) -> KeywordLibrary:
    """The library for pages of ``unit``'s websites (a Unit, or None for the default library)."""
    path = getattr(unit, "path", "") or ""
    if not path:
        return KeywordLibrary.default()
    now = time.monotonic()
    with _lock:
        cached = _by_path.get(path)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    rows = tuple(
        sorted(
            KeywordEntry.objects.filter(enabled=True, unit__path__in=_ancestor_paths(path)).values_list(
                "category", "word", "whitelist"
            )
        )
    )
    with _lock:
        library = _by_entries.get(rows)
    if library is None:
        library = build_library(rows)
    with _lock:
        _by_entries[rows] = library
        _by_path[path] = (now, library)
    return library


def clear_cache() -> None:
    with _lock:
        _by_path.clear()
        _by_entries.clear()


@receiver(post_save, sender=KeywordEntry, dispatch_uid="monitoring_keywords_saved")
@receiver(post_delete, sender=KeywordEntry, dispatch_uid="monitoring_keywords_deleted")
def _entries_changed(sender, **kwargs):
    clear_cache()
