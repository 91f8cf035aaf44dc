"""Where the content analysis spends its time, per page, on a fixed set of representative pages.

The pages come from the simulated farm's page generator (``monitoring.simfarm.pages``: ~30 KB school pages in the
healthy, dynamic, defaced, keyword, hidden-link, ID-leak, malicious-script... scenarios) and from the labelled corpus
(``monitoring/tests/corpus``). Each is analysed the two ways the monitor does it:

* ``page``: ``analyse_page`` without a baseline (what ``bench/monitor_bench.py``'s "every page changed" sweep runs);
* ``+baseline``: ``analyse_page`` with the site's baseline (what the monitor runs, ``monitoring.content``), and
  ``compare`` alone.

Besides the mean over the pages, the tables give the mean weighted by the scenario mix of ``bench/monitor_bench.py``
("bench mix": 60 % healthy, 15 % dynamic, 10 % hidden links...), the figure its "every page changed" sweep sees.

Timings are the minimum over ``--repeat`` rounds of ``--number`` calls each (other processes share the cores, and the
minimum is the least disturbed figure). ``--profile`` runs cProfile over the same work and prints the top functions.

    .venv/bin/python bench/analysis_profile.py                  # table, ms per page
    .venv/bin/python bench/analysis_profile.py --profile        # cProfile, top 30 by own time and cumulative
    .venv/bin/python bench/analysis_profile.py --only farm --scenarios healthy,keywords --repeat 9
    .venv/bin/python bench/analysis_profile.py --instructions   # callgrind instruction counts per page (stable)

``--instructions`` runs this script once under ``valgrind --tool=callgrind``, which writes its counts at a marker call
between the analyses of each page and mode (``--dump-before``), and reports instructions per analysis: they do not
depend on what else runs on the machine, so they compare two versions of the code reliably (run the script from an
older checkout to measure that one).

By default every analysis starts with empty caches (parsed style sheets, tag hashes), as for a page of a site not seen
before; ``--warm`` keeps them, as for the pages of one site, or the farm's sites, which share a style sheet.
"""

from __future__ import annotations

import argparse
import binascii
import cProfile
import gc
import json
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The analysers are plain Python (they only use Django's translation markers), so no project settings or app registry
# are loaded: the figures are the analysis alone.
from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(USE_I18N=False)

from monitoring.analysis import KeywordLibrary, analyse_page, compare, make_baseline  # noqa: E402

try:  # caches of the analysers (absent in older versions, which this script can also measure)
    from monitoring.analysis.defacement import _TAG_HASHES
    from monitoring.analysis.style import stylesheet_rules
except ImportError:
    _TAG_HASHES, stylesheet_rules = {}, None
from monitoring.simfarm.pages import SchoolPages, invent_school_name  # noqa: E402

CORPUS = ROOT / "monitoring" / "tests" / "corpus"

FARM_HOSTS = ("www.dh-zijing-jn.school.example", "www.sz-mingde-xx.school.example")  # one per defacement style
FARM_SCENARIOS = (
    "healthy",
    "dynamic",
    "defaced",
    "keywords",
    "id_leak",
    "malicious_script",
    "missing_icp",
    "stale",
    "hidden_css_display_none",
    "hidden_css_same_colour",
    "hidden_js_write_hidden",
    "hidden_js_hide_after_load",
    "hidden_comment_links",
    "hidden_data_attribute_links",
    "hidden_bare_domain_text",
    "hidden_zero_size_iframe",
)
# Scenario weights of bench/monitor_bench.py's farm (its MIX); a group's weight is shared by the cases measured here.
BENCH_MIX = {"healthy": 60, "dynamic": 15, "hidden": 10, "keywords": 3, "defaced": 2, "id_leak": 2, "missing_icp": 3,
             "stale": 3, "malicious_script": 2}  # fmt: skip

CORPUS_PAGES = (
    "benign_large_home",
    "benign_small_home",
    "benign_dropdown_menu",
    "benign_article_long",
    "hidden_display_none_class",
    "hidden_js_write_open_wrapper",
    "keywords_gambling_news",
    "deface_half_gambling",
    "deface_hacked_by",
    "script_packer",
    "pi_student_list",
)


class Case:
    """One page analysed one way."""

    def __init__(self, group: str, name: str, html: str, url: str, *, baseline=None, site_domains=(), headers=None):
        self.group, self.name, self.html, self.url = group, name, html, url
        self.source = name  # the farm scenario or corpus page it was built from
        self.baseline, self.site_domains, self.headers = baseline, tuple(site_domains), headers

    @property
    def label(self) -> str:
        return f"{self.group}:{self.name}"

    def analyse(self, library, baseline=None):
        return analyse_page(
            self.html,
            url=self.url,
            baseline=baseline,
            keyword_library=library,
            site_domains=self.site_domains,
            headers=self.headers,
        )


def farm_cases(scenarios) -> list[Case]:
    cases = []
    for index, host in enumerate(FARM_HOSTS):
        pages = SchoolPages(host, invent_school_name(host))
        url = f"https://{host}/"
        baseline = make_baseline([pages.page("healthy").body.decode()], url=url)
        for scenario in scenarios:
            if index and scenario != "defaced":
                continue  # the second host only adds the other defacement style
            page = pages.page(scenario)
            name = f"defaced_{pages.defacement_style()}" if scenario == "defaced" else scenario
            case = Case(
                "farm", name, page.body.decode(), url, baseline=baseline, site_domains=(host,), headers=page.headers
            )
            case.source = scenario
            cases.append(case)
    return cases


def corpus_cases(names) -> list[Case]:
    labels = {entry["file"]: entry for entry in json.loads((CORPUS / "labels.json").read_text("utf-8"))["pages"]}
    cases = []
    for name in names:
        entry = labels.get(f"pages/{name}.html")
        if entry is None:
            continue
        html = (CORPUS / entry["file"]).read_text("utf-8")
        samples = [(CORPUS / path).read_text("utf-8") for path in entry.get("baseline") or ()] or [html]
        baseline = make_baseline(samples, url=entry["url"])
        cases.append(
            Case(
                "corpus",
                name,
                html,
                entry["url"],
                baseline=baseline,
                site_domains=entry.get("site_domains", ()),
                headers=entry.get("headers"),
            )
        )
    return cases


def mix_weights(cases) -> dict[str, float]:
    """Case label -> weight in the bench mix (farm cases only)."""
    groups: dict[str, list[str]] = {}
    for case in cases:
        if case.group == "farm":
            group = "hidden" if case.source.startswith("hidden_") else case.source
            if group in BENCH_MIX:
                groups.setdefault(group, []).append(case.label)
    return {label: BENCH_MIX[group] / len(labels) for group, labels in groups.items() for label in labels}


def weighted(values: dict[str, float], weights: dict[str, float]) -> float:
    total = sum(weights[label] for label in values if label in weights)
    return sum(value * weights[label] for label, value in values.items() if label in weights) / total if total else 0


def best_ms(function, number: int, repeat: int) -> float:
    """Minimum over ``repeat`` rounds of the mean of ``number`` calls, in milliseconds."""
    rounds = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            function()
        rounds.append((time.perf_counter() - started) / number * 1000)
    return min(rounds)


def measure(cases, library, number: int, repeat: int, cold: bool) -> list[dict]:
    rows = []
    for case in cases:
        analysis = case.analyse(library, case.baseline)
        analysis.fingerprint  # noqa: B018 - compare against the serialised fingerprint, as after a round trip
        rows.append(
            {
                "case": case.label,
                "kb": len(case.html.encode()) / 1024,
                "kinds": ",".join(sorted(analysis.kinds)) or "-",
                "page": best_ms(lambda case=case: run_once([case], library, "page", cold), number, repeat),
                "baseline": best_ms(lambda case=case: run_once([case], library, "baseline", cold), number, repeat),
                "compare": best_ms(lambda case=case, a=analysis: compare(case.baseline, a, library), number, repeat),
            }
        )
    return rows


def print_table(rows, weights) -> None:
    print(f"{'case':<42}{'KB':>6}{'page ms':>10}{'+baseline':>11}{'compare':>10}  detections")
    for row in rows:
        print(
            f"{row['case']:<42}{row['kb']:>6.1f}{row['page']:>10.3f}{row['baseline']:>11.3f}{row['compare']:>10.3f}"
            f"  {row['kinds']}"
        )
    for group in ("farm", "corpus", ""):
        chosen = [row for row in rows if row["case"].startswith(group)]
        if not chosen:
            continue
        label = f"mean {group or 'overall'}"
        page = statistics.fmean(row["page"] for row in chosen)
        baseline = statistics.fmean(row["baseline"] for row in chosen)
        compared = statistics.fmean(row["compare"] for row in chosen)
        print(f"{label:<42}{'':>6}{page:>10.3f}{baseline:>11.3f}{compared:>10.3f}")
    if weights:
        page = weighted({row["case"]: row["page"] for row in rows}, weights)
        baseline = weighted({row["case"]: row["baseline"] for row in rows}, weights)
        print(f"{'bench mix (farm, weighted)':<42}{'':>6}{page:>10.3f}{baseline:>11.3f}")
    healthy = [row for row in rows if row["case"] in ("farm:healthy", "farm:dynamic")]
    if healthy:
        print(
            f"typical 30 KB school page (farm healthy/dynamic): {statistics.fmean(r['page'] for r in healthy):.3f} ms"
        )


def settle_garbage_collector() -> None:
    """Move everything built so far (pages, baselines, modules) out of the collector's reach, as a long-running worker
    would after start-up (``gc.freeze``): otherwise an occasional full collection, whose cost depends on everything
    else in the process, lands in whichever measurement happens to trigger it."""
    gc.collect()
    gc.freeze()


def clear_caches() -> None:
    """Forget what earlier pages taught the analysers (parsed style sheets, tag hashes): every page as if new."""
    if stylesheet_rules is not None:
        stylesheet_rules.cache_clear()
    _TAG_HASHES.clear()


def run_once(cases, library, mode: str = "both", cold: bool = False) -> None:
    for case in cases:
        if mode in ("both", "page"):
            if cold:
                clear_caches()
            case.analyse(library)
        if mode in ("both", "baseline"):
            if cold:
                clear_caches()
            case.analyse(library, case.baseline)


# Marker between measured segments under callgrind: ``--dump-before`` on this C function writes the counts so far.
MARKER_FUNCTION = "binascii_crc_hqx"


def marker() -> None:
    binascii.crc_hqx(b"", 0)


def run_segments(cases, library, number: int, cold: bool) -> None:
    """Under callgrind: one segment per case and mode, each ``number`` analyses, separated by markers."""
    run_once(cases, library, "both", cold)  # warm-up: imports, compiled patterns, the keyword automaton
    settle_garbage_collector()
    marker()
    for case in cases:
        for mode in ("page", "baseline"):
            for _ in range(number):
                run_once([case], library, mode, cold)
            marker()


def instruction_table(args, cases) -> None:
    """Runs this script under callgrind (``--segments``) and prints millions of instructions per analysis."""
    with tempfile.TemporaryDirectory() as directory:
        command = [
            "valgrind", "--tool=callgrind", f"--dump-before={MARKER_FUNCTION}", f"--callgrind-out-file={directory}/cg",
            sys.executable, str(Path(__file__).resolve()), *args.forward, "--segments", "--number", str(args.number),
        ]  # fmt: skip
        subprocess.run(command, capture_output=True, text=True, check=True)
        dumps = sorted(Path(directory).glob("cg.*"), key=lambda path: int(path.suffix[1:]))
        counts = [int(re.search(r"^summary: (\d+)", path.read_text(), re.M).group(1)) for path in dumps]
    segments = counts[1:]  # the first dump: start-up and warm-up, before the first marker
    print(f"{'case':<42}{'page Minstr':>12}{'+baseline':>11}")
    rows = []
    for index, case in enumerate(cases):
        page, baseline = (segments[2 * index + k] / args.number / 1e6 for k in range(2))
        rows.append((page, baseline))
        print(f"{case.label:<42}{page:>12.2f}{baseline:>11.2f}")
    for group in ("farm", "corpus", ""):
        chosen = [row for case, row in zip(cases, rows, strict=True) if case.group.startswith(group)]
        if chosen:
            label = f"mean {group or 'overall'}"
            page, baseline = (statistics.fmean(row[k] for row in chosen) for k in range(2))
            print(f"{label:<42}{page:>12.2f}{baseline:>11.2f}")
    weights = mix_weights(cases)
    if weights:
        page, baseline = (
            weighted({c.label: r[k] for c, r in zip(cases, rows, strict=True)}, weights) for k in range(2)
        )
        print(f"{'bench mix (farm, weighted)':<42}{page:>12.2f}{baseline:>11.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("farm", "corpus", "all"), default="all")
    parser.add_argument("--scenarios", help="comma-separated farm scenarios (default: a representative set)")
    parser.add_argument("--corpus-pages", help="comma-separated corpus page names (default: a representative set)")
    parser.add_argument("--number", type=int, default=20, help="calls per round (default 20)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the minimum is reported (default 5)")
    parser.add_argument("--profile", action="store_true", help="cProfile the analysis and print the top functions")
    parser.add_argument("--top", type=int, default=30, help="functions shown by --profile (default 30)")
    parser.add_argument("--instructions", action="store_true", help="callgrind instruction counts per page")
    parser.add_argument("--segments", action="store_true", help=argparse.SUPPRESS)  # the run under callgrind
    parser.add_argument(
        "--warm",
        action="store_true",
        help="keep caches between pages (parsed style sheets, tag hashes), as for "
        "pages of one site; by default every analysis starts cold, as for a page of a site not seen before",
    )
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)

    library = KeywordLibrary.default()
    scenarios = args.scenarios.split(",") if args.scenarios else FARM_SCENARIOS
    names = args.corpus_pages.split(",") if args.corpus_pages else CORPUS_PAGES
    cases = []
    if args.only in ("farm", "all"):
        cases += farm_cases(scenarios)
    if args.only in ("corpus", "all"):
        cases += corpus_cases(names)
    cold = not args.warm
    if args.instructions:
        args.forward = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--instructions"]
        args.forward = [
            a for i, a in enumerate(args.forward) if a != "--number" and args.forward[i - 1 : i] != ["--number"]
        ]
        instruction_table(args, cases)
        return 0
    if args.segments:
        run_segments(cases, library, args.number, cold)
        return 0
    run_once(cases, library, "both", cold)  # warm-up: compiled patterns, the keyword automaton
    settle_garbage_collector()
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.number):
            run_once(cases, library, "both", cold)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        return 0
    rows = measure(cases, library, args.number, args.repeat, cold)
    print_table(rows, mix_weights(cases))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
