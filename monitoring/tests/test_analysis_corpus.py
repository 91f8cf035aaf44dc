"""Recall and precision of the content analysers over the labelled corpus (``corpus/labels.json``).

Each (page, detection kind) pair is scored: TP when expected and detected, FN when expected and missed, FP when
detected and not expected. For hidden links (and cloaking, whose labels also name a technique) a detection counts as
TP only when the expected technique is among the detected ones; otherwise the pair is both an FN and an FP.

Run with ``pytest -s`` to see the table; it is also part of the assertion message.
"""

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from monitoring.analysis import analyse_page, make_baseline
from monitoring.vocabulary import HIDDEN_LINKS

CORPUS = Path(__file__).resolve().parent / "corpus"
MIN_RECALL = 0.95
MIN_PRECISION = 0.95


def load_entries() -> list[dict]:
    return json.loads((CORPUS / "labels.json").read_text(encoding="utf-8"))["pages"]


def read(relative: str) -> str:
    return (CORPUS / relative).read_text(encoding="utf-8")


def analyse_entry(entry: dict):
    baseline = None
    if entry.get("baseline"):
        baseline = make_baseline([read(path) for path in entry["baseline"]], url=entry["url"])
    variants = {name: read(path) for name, path in entry.get("variants", {}).items()} or None
    return analyse_page(
        read(entry["file"]),
        url=entry["url"],
        site_domains=entry.get("site_domains", ()),
        baseline=baseline,
        variants=variants,
        headers=entry.get("headers"),
    )


def detected_techniques(detection) -> set[str]:
    return {detection.technique, *detection.evidence.get("techniques", ())} - {""}


def score(entries):
    """Per-kind TP/FP/FN counters and the list of mistakes."""
    counts: dict[str, Counter] = {}
    mistakes = []
    for entry in entries:
        analysis = analyse_entry(entry)
        expected = {item["kind"]: item.get("technique", "") for item in entry["expected"]}
        detected = {detection.kind: detection for detection in analysis.detections}
        for kind in expected.keys() | detected.keys():
            counter = counts.setdefault(kind, Counter())
            if kind in expected and kind in detected:
                technique = expected[kind]
                if technique and technique not in detected_techniques(detected[kind]):
                    counter["fn"] += 1
                    counter["fp"] += 1
                    found = sorted(detected_techniques(detected[kind]))
                    mistakes.append(f"{entry['file']}: {kind} technique {technique} not in {found}")
                else:
                    counter["tp"] += 1
            elif kind in expected:
                counter["fn"] += 1
                mistakes.append(f"{entry['file']}: missed {kind} {expected[kind]}".rstrip())
            else:
                counter["fp"] += 1
                evidence = json.dumps(detected[kind].evidence, ensure_ascii=False)[:300]
                mistakes.append(f"{entry['file']}: unexpected {kind} {detected[kind].technique} {evidence}")
    return counts, mistakes


def ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0


def table(counts: dict[str, Counter]) -> tuple[str, Counter]:
    total = Counter()
    lines = [f"{'kind':<22}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}"]
    for kind in sorted(counts):
        c = counts[kind]
        total.update(c)
        precision, recall = ratio(c["tp"], c["tp"] + c["fp"]), ratio(c["tp"], c["tp"] + c["fn"])
        lines.append(f"{kind:<22}{c['tp']:>5}{c['fp']:>5}{c['fn']:>5}{precision:>11.3f}{recall:>8.3f}")
    precision, recall = ratio(total["tp"], total["tp"] + total["fp"]), ratio(total["tp"], total["tp"] + total["fn"])
    lines.append(f"{'overall':<22}{total['tp']:>5}{total['fp']:>5}{total['fn']:>5}{precision:>11.3f}{recall:>8.3f}")
    return "\n".join(lines), total


def test_corpus_is_large_and_varied():
    entries = load_entries()
    assert len(entries) >= 100
    benign = [entry for entry in entries if not entry["expected"]]
    assert len(benign) >= 35
    techniques = Counter(
        item["technique"] for entry in entries for item in entry["expected"] if item["kind"] == HIDDEN_LINKS
    )
    from monitoring.vocabulary import HIDDEN_LINK_TECHNIQUES

    for technique in HIDDEN_LINK_TECHNIQUES:
        if not technique.startswith("cloaking_"):
            assert techniques[technique] >= 2, technique
    for entry in entries:
        assert (CORPUS / entry["file"]).exists(), entry["file"]


def test_corpus_recall_and_precision():
    entries = load_entries()
    started = time.perf_counter()
    counts, mistakes = score(entries)
    elapsed = time.perf_counter() - started
    report, total = table(counts)
    message = f"\n{report}\n{len(entries)} pages in {elapsed:.2f} s\n" + "\n".join(mistakes)
    print(message)
    precision = ratio(total["tp"], total["tp"] + total["fp"])
    recall = ratio(total["tp"], total["tp"] + total["fn"])
    hidden = counts.get(HIDDEN_LINKS, Counter())
    assert recall >= MIN_RECALL, message
    assert precision >= MIN_PRECISION, message
    assert ratio(hidden["tp"], hidden["tp"] + hidden["fn"]) >= MIN_RECALL, message
    assert ratio(hidden["tp"], hidden["tp"] + hidden["fp"]) >= MIN_PRECISION, message


@pytest.mark.parametrize("name", ["benign_dropdown_menu", "hidden_display_none_inline"])
def test_corpus_evidence_is_json(name):
    entry = next(entry for entry in load_entries() if entry["file"] == f"pages/{name}.html")
    analysis = analyse_entry(entry)
    json.dumps(analysis.as_dict(), ensure_ascii=False)
