"""The fast paths of the content analysers give exactly what the straightforward code gives.

Each test pits an optimised piece (shingle sampling by CRC linearity, byte-level keyword automaton, literal-led
patterns, the CSS-assisted page walk, the lazy fingerprint, the hidden-link short cut...) against a plain reference
written here the simple way (the way the analysers did it before), on the labelled corpus, on farm pages and on
random input built to hit the corner cases.
"""

import json
import pickle
import random
import re
import zlib
from pathlib import Path

import ahocorasick
import pytest
from selectolax.lexbor import LexborHTMLParser

from monitoring.analysis import (
    KeywordLibrary,
    analyse_page,
    compare,
    defacement,
    hidden_links,
    keywords,
    make_baseline,
    personal_info,
    registration,
)
from monitoring.analysis.domains import BARE_DOMAIN_RE, SiteScope, find_bare_domains
from monitoring.analysis.page import _NON_TEXT_PARENTS, FOLD_TABLE, REGION_DEPTH, Page, data_attribute_names, fold
from monitoring.simfarm.pages import SchoolPages, invent_school_name
from monitoring.vocabulary import FARM_SCENARIOS

CORPUS = Path(__file__).resolve().parent / "corpus"
HOSTS = ("www.dh-zijing-jn.school.example", "www.sz-mingde-xx.school.example")


def corpus_entries():
    return json.loads((CORPUS / "labels.json").read_text(encoding="utf-8"))["pages"]


def corpus_pages():
    for entry in corpus_entries():
        yield entry["file"], (CORPUS / entry["file"]).read_text(encoding="utf-8"), entry


def farm_pages():
    for host in HOSTS:
        pages = SchoolPages(host, invent_school_name(host))
        for scenario in FARM_SCENARIOS:
            if scenario not in ("timeout", "refused"):
                yield f"{host}:{scenario}", pages.page(scenario).body.decode(), host


# Pieces of markup that exercise the walk: foreign content, odd and upper-case data attributes, raw-text elements,
# templates, comments, text after an empty script, attributes in another order...
ODD_MARKUP = [
    "<svg><a href='http://x.example/'>svg link</a><script src='s.js'></script><style>a</style><marquee width=1>m"
    "</marquee></svg>",
    "<div DATA-URL='http://a.example/' Data-Title='t' data-x\"y='<a href=//b.example>b</a>' data-=1>d</div>",
    '<p data-a\'b=1 title="t" alt=a>x</p><script>el.getAttribute("data-odd")||0;$(x).attr(\'data-z\')</script>',
    "<template><a href='http://t.example/'>t</a>tpl</template><noscript><a href='http://n.example/'>n</a></noscript>",
    "<script src=a.js></script>after empty script<xmp>raw <b>x</b></xmp><textarea>ta</textarea><title>t2</title>",
    "<!-- <a href='http://c.example/'>c</a> --><iframe src='http://i.example/' width=0></iframe><iframe>raw</iframe>",
    "<font color=white>w</font><td bgcolor=#fff>c</td><meta name=generator content='DedeCMS V5.3'><meta "
    "http-equiv=refresh content='0;url=http://r.example/'><area href='https://area.example/x'><link title=t>",
    "<div class=' '>blank class</div><div class='a  b' id=''>empty id</div><p id=x class=y>both</p>",
    "<table><tr><td>foster<a href='//f.example/'>f</a></td></tr></table>",
]


def odd_pages():
    for index, fragment in enumerate(ODD_MARKUP):
        yield f"odd{index}", f"<html><head><title>T</title></head><body><p>正文</p>{fragment}</body></html>"


# --- References (the straightforward implementations) ----------------------------------------------------------


def reference_walk(html: str) -> dict:
    """Every element's attributes read in Python, as the page walk did before it used CSS queries."""
    tree = LexborHTMLParser(html)
    found = {key: [] for key in ("texts", "raw", "comments", "scripts", "srcs", "styled", "data", "attribute_texts")}
    found.update(meta={}, iframes=[], marquees=[], anchors=[], coloured=[], title="")
    previous = None
    for node in tree.root.traverse(include_text=True):
        tag = node.tag
        if tag == "-text":
            raw_parent, previous = previous, None
            text = node.text_content
            if not text or text.isspace():
                continue
            if raw_parent is not None and node.parent.mem_id != raw_parent.mem_id:
                raw_parent = None
            parent_tag = raw_parent.tag if raw_parent is not None else ""
            if parent_tag == "title":
                found["title"] = found["title"] or re.sub(r"\s+", " ", text).strip()
            elif parent_tag == "script":
                found["scripts"].append(text)
            if parent_tag in _NON_TEXT_PARENTS:
                found["raw"].append(text)
            else:
                found["texts"].append(text)
            continue
        previous = node if tag in _NON_TEXT_PARENTS else None
        if tag == "-comment":
            found["comments"].append(node.comment_content or "")
            continue
        if tag is None or tag.startswith(("-", "#")):
            continue
        attributes = node.attributes
        if not attributes:
            continue
        if attributes.get("style"):
            found["styled"].append(attributes["style"])
        if "color" in attributes or "bgcolor" in attributes:
            found["coloured"].append(attributes)
        for name, value in attributes.items():
            if value and name.startswith("data-"):
                found["data"].append((name, value))
            elif value and name in ("alt", "title") and tag != "link":
                found["attribute_texts"].append(value)
        if tag in ("a", "area") and "//" in (attributes.get("href") or ""):
            found["anchors"].append(attributes["href"])
        elif tag == "script" and attributes.get("src"):
            found["srcs"].append(attributes["src"])
        elif tag == "meta":
            key = (attributes.get("name") or attributes.get("http-equiv") or attributes.get("property") or "").lower()
            if key:
                found["meta"][key] = attributes.get("content") or ""
        elif tag == "iframe":
            found["iframes"].append(attributes)
        elif tag == "marquee":
            found["marquees"].append(attributes)
    return found


def page_facts(page: Page) -> dict:
    return {
        "texts": page.texts,
        "raw": [text for _element, text in page.raw_texts],
        "comments": page.comments,
        "scripts": [code for _node, code in page.inline_scripts],
        "srcs": [src for _node, src in page.script_srcs],
        "styled": [style for _node, style in page.styled],
        "data": [(name, value) for _node, name, value in page.data_attributes],
        "attribute_texts": page.attribute_texts,
        "meta": page.meta,
        "iframes": [attributes for _node, attributes in page.iframes],
        "marquees": [attributes for _node, attributes in page.marquees],
        "anchors": [href for _node, href in page.anchors],
        "coloured": [attributes for _node, attributes in page.coloured],
        "title": page.title,
    }


def reference_fingerprint(page: Page) -> dict:
    """The fingerprint computed node by node (region key by walking up from each text node)."""
    cache = {}

    def of_element(node):
        key = cache.get(node.mem_id)
        if key is None:
            tag = node.tag
            if tag in ("body", "html", "head") or tag.startswith("-"):
                key = ()
            elif node.attributes.get("id"):
                key = (f"{tag}#{node.attributes['id']}",)
            elif (node.attributes.get("class") or "").split():
                key = (f"{tag}.{node.attributes['class'].split()[0]}",)
            else:
                parent = node.parent
                key = ((of_element(parent) if parent is not None else ()) + (tag,))[-REGION_DEPTH:]
            cache[node.mem_id] = key
        return key

    texts = {}
    for node, text in zip(page.text_nodes, page.texts, strict=True):
        texts.setdefault(">".join(of_element(node.parent)), []).append(text)
    regions = {}
    for key, pieces in texts.items():
        normalised = re.sub(r"[\W\d_]+", "", "".join(pieces))
        if normalised:
            regions[format(zlib.crc32(key.encode()), "x")] = [
                zlib.crc32(normalised.encode()),
                sorted(defacement.shingles(normalised)),
                len(pieces),
                len(normalised),
            ]
    sequence = []
    for node in page.tree.root.traverse():
        tag = node.tag
        if not tag.startswith(("-", "#")):
            css_class = node.attributes.get("class")
            sequence.append(tag + "." + css_class.split(" ", 1)[0] if css_class else tag)
    tags = [zlib.crc32(tag.encode()) for tag in sequence]
    structure = {
        (a * 29791 + b * 961 + c * 31 + d) & 0xFFFFFFFF
        for a, b, c, d in zip(tags, tags[1:], tags[2:], tags[3:], strict=False)
    }
    return {"v": 1, "title": page.title, "regions": regions, "structure": sorted(structure)}


class ReferenceScanner:
    """``KeywordLibrary.scan`` on a character automaton over ``fold(text)``, as it was."""

    def __init__(self, library: KeywordLibrary):
        self.automaton = ahocorasick.Automaton()
        for word, category in library.words.items():
            self.automaton.add_word(word, (0, word, category))
        for phrase in library.whitelist - library.words.keys():
            self.automaton.add_word(phrase, (1, phrase, ""))
        self.automaton.make_automaton()

    def scan(self, text: str):
        haystack = text.translate(FOLD_TABLE)
        hits, white = [], []
        for end, (kind, word, category) in self.automaton.iter(haystack):
            start = end - len(word) + 1
            if keywords._is_ascii_alnum(word[0]) and start > 0 and keywords._is_ascii_alnum(haystack[start - 1]):
                continue
            if (
                keywords._is_ascii_alnum(word[-1])
                and end + 1 < len(haystack)
                and keywords._is_ascii_alnum(haystack[end + 1])
            ):
                continue
            if kind:
                white.append((start, end + 1))
            else:
                hits.append((start, end + 1, word, category))
        hits = [hit for hit in hits if not any(s <= hit[0] and hit[1] <= e for s, e in white)]
        hits.sort(key=lambda hit: (hit[0], hit[0] - hit[1]))
        kept, reach = [], -1
        for hit in hits:
            if hit[0] >= reach:
                kept.append(hit)
                reach = hit[1]
        return kept


def as_tuples(matches):
    return [(m.start, m.end, m.word, m.category) for m in matches]


def every_character_matching(pattern: re.Pattern) -> set[str]:
    return set(filter(pattern.fullmatch, map(chr, range(0x110000))))


def random_text(rng, alphabet, longest=30):
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, longest)))


# --- Text primitives ----------------------------------------------------------------------------------------------


def test_sampled_shingles_equal_reference():
    rng = random.Random(1)
    alphabet = [*"学校新闻通知abcXYZ012 ，。", "\U0001f600", "\ud7ff", "é"]
    texts = [random_text(rng, alphabet, 60) for _ in range(400)]
    texts += ["", "a", "abc", "abcd", "学" * 5000 + "校" * 3000]  # a text longer than one slice table
    assert defacement._sampled_shingles(texts) == [defacement.shingles(text) for text in texts]


def test_combine_tags_equals_reference():
    rng = random.Random(2)
    for _ in range(500):
        tags = [rng.getrandbits(32) for _ in range(rng.randrange(0, 40))]
        expected = {
            (a * 29791 + b * 961 + c * 31 + d) & 0xFFFFFFFF
            for a, b, c, d in zip(tags, tags[1:], tags[2:], tags[3:], strict=False)
        }
        assert defacement._combine_tags(tags) == expected


def test_normalise_equals_reference_pattern():
    rng = random.Random(3)
    alphabet = [*"学校a1_ ，。Ⅻ²½〇٣", "\U0001f600", "\U00020000", "\u00a0"]
    for _ in range(2000):
        text = random_text(rng, alphabet, 150)
        assert defacement.normalise(text) == re.sub(r"[\W\d_]+", "", text)


def test_fold_equals_translate():
    rng = random.Random(4)
    alphabet = [chr(code) for code in (*range(0x20, 0x80), *range(0xFF00, 0xFF70), 0x3000, 0x4E00, 0x1F600)]
    for _ in range(2000):
        text = random_text(rng, alphabet, 120)
        assert fold(text) == text.translate(FOLD_TABLE)


@pytest.mark.parametrize(
    "library",
    [
        KeywordLibrary.default(),
        KeywordLibrary.from_entries(
            [
                ("gambling", "bet"),
                ("pornography", "a片"),
                ("fraud", "刷单"),
                ("other", "x.y"),
                ("other", "\U0001f600z"),
            ],
            whitelist=["刷单返利教育", "xbet", "a片段"],
        ),
        KeywordLibrary.from_entries([("gambling", "百 家乐"), ("gambling", "赌")], whitelist=["禁 赌"]),
    ],
    ids=["default", "ascii-words", "words-with-spaces"],
)
def test_keyword_scan_equals_character_automaton(library):
    reference = ReferenceScanner(library)
    rng = random.Random(5)
    pieces = [
        *"abetjavaAVH xyz.",
        *"　，。学校赌禁．ａｂｅｔＡＶ３",
        "\ud800",
        "\U0001f600",
        *library.words,
        *library.whitelist,
    ]
    for _ in range(5000):
        text = random_text(rng, pieces, 12)
        assert as_tuples(library.scan(text)) == reference.scan(text), text
    for _name, html, _entry in corpus_pages():
        text = Page(html).text
        assert as_tuples(library.scan(text)) == reference.scan(text)


def test_keyword_library_pickles():
    # A unit's own library travels to the analysis pool pickled (monitoring.content.library_for_pool).
    library = KeywordLibrary.from_entries([("gambling", "百家乐"), ("gambling", "bet365"), ("other", "ａｖ")], ["禁赌"])
    copy = pickle.loads(pickle.dumps(library))
    text = "看BET365和百家乐，禁赌 ＡＶ av"
    assert as_tuples(copy.scan(text)) == as_tuples(library.scan(text)) == ReferenceScanner(library).scan(text)


def test_bare_domain_finder_equals_pattern():
    # The classes spelled out for the finder are those the case-insensitive pattern matches.
    name_characters = every_character_matching(re.compile("[a-z0-9@.-]", re.I))
    from monitoring.analysis import domains

    assert name_characters == set(domains._NAME_CHARACTERS)
    rng = random.Random(6)
    alphabet = [
        *"abcK.-@09 \n学。",
        "\u0130",
        "\u0131",
        "\u017f",
        "\u212a",
        "com",
        "cn",
        "example",
        "www.",
        ".net",
        "bet",
    ]
    for _ in range(20000):
        text = random_text(rng, alphabet, 25)
        expected = [(m.span(), m.group(1)) for m in BARE_DOMAIN_RE.finditer(text)]
        assert [(m.span(), m.group(1)) for m in find_bare_domains(text)] == expected, text


def test_personal_patterns_equal_lookbehind_forms():
    id_reference = re.compile(
        r"(?<![0-9A-Za-z])([1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx])"
        r"(?![0-9A-Za-z])"
    )
    mobile_reference = re.compile(r"(?<![0-9A-Za-z])(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![0-9A-Za-z])")
    rng = random.Random(7)
    alphabet = [*"0123456789- Xxa学\n１", "11010519491231002X", "13812345678", "138-1234-5678", "19", "20"]
    for _ in range(20000):
        text = random_text(rng, alphabet, 14)
        for fast, reference in ((personal_info.ID_RE, id_reference), (personal_info.MOBILE_RE, mobile_reference)):
            assert [(m.span(), m.groups()) for m in fast.finditer(text)] == [
                (m.span(), m.groups()) for m in reference.finditer(text)
            ], text


def test_registration_search_equals_pattern_search():
    # IGNORECASE "ICP" matches exactly the characters of the word pattern.
    for letter, pattern in zip("icp", ("[iI\u0130\u0131]", "[cC]", "[pP]"), strict=True):
        assert every_character_matching(re.compile(letter, re.I)) == every_character_matching(re.compile(pattern))
    rng = random.Random(8)
    alphabet = [*" \u3000\t浙京学号-：:0123456789备证公网安", "ICP", "icp", "İcp", "ıCP", "公网安备", "12345678"]
    for _ in range(20000):
        text = random_text(rng, alphabet, 14)
        for pattern, word in (
            (registration.ICP_RE, registration._ICP_WORD_RE),
            (registration.PUBLIC_SECURITY_RE, registration._PUBLIC_SECURITY_WORD_RE),
        ):
            expected, found = pattern.search(text), registration._search(pattern, word, text)
            assert (found and (found.span(), found.group())) == (expected and (expected.span(), expected.group()))


def test_data_attribute_names_cover_what_the_tokenizer_makes():
    rng = random.Random(9)
    alphabet = [
        "data-",
        "DATA-",
        "Data-",
        "dAtA-",
        "x",
        " ",
        "=",
        "\t",
        "ü",
        "学",
        "A",
        "-",
        "d",
        "ata-",
        ">",
        "\n",
        "'",
    ]
    for _ in range(20000):
        source = random_text(rng, alphabet, 12)
        lowered = source.encode().lower()
        expected = {m.group(1).decode() for m in re.finditer(rb"(?=(data-[^\t\n\f\r />=]*))", lowered)}
        assert data_attribute_names(source) == expected, source


# --- Page, fingerprint, baseline ----------------------------------------------------------------------------------


def all_pages():
    yield from ((name, html) for name, html, _entry in corpus_pages())
    yield from ((name, html) for name, html, _host in farm_pages())
    yield from odd_pages()


def test_page_walk_equals_reading_every_element():
    for name, html in all_pages():
        assert page_facts(Page(html)) == reference_walk(html), name


def test_fingerprint_equals_reference():
    for name, html in all_pages():
        page = Page(html)
        assert defacement.fingerprint(page) == reference_fingerprint(page), name


def test_lazy_fingerprint_is_the_same_dict_and_pickles():
    host = HOSTS[0]
    html = SchoolPages(host, invent_school_name(host)).page("healthy").body.decode()
    analysis = analyse_page(html, url=f"https://{host}/")
    assert analysis.pending_sketch() is not None
    copy = pickle.loads(pickle.dumps(analysis))  # pickling serialises the fingerprint first (the tree cannot travel)
    assert analysis.pending_sketch() is None
    assert copy.fingerprint == analysis.fingerprint == defacement.fingerprint(Page(html))
    assert json.loads(json.dumps(analysis.as_dict()))["fingerprint"] == analysis.fingerprint


def test_stored_baselines_compare_as_before():
    """A baseline as stored (JSON, lists) gives the same result whether the page's fingerprint is still lazy or
    serialised, and the same baseline as the reference fingerprint gives."""
    for host in HOSTS:
        pages = SchoolPages(host, invent_school_name(host))
        url = f"https://{host}/"
        samples = [pages.page("healthy").body.decode(), pages.page("dynamic").body.decode()]
        baseline = json.loads(json.dumps(make_baseline(samples, url=url)))
        reference = defacement.baseline_from_fingerprints([reference_fingerprint(Page(html)) for html in samples])
        assert baseline == {**json.loads(json.dumps(reference)), "site": "school.example"}  # plus where it was served
        for scenario in ("healthy", "dynamic", "defaced", "keywords", "hidden_bare_domain_text", "stale"):
            html = pages.page(scenario).body.decode()
            lazy = analyse_page(html, url=url, baseline=baseline)
            serialised = analyse_page(html, url=url)
            serialised.fingerprint  # noqa: B018
            assert serialised.pending_sketch() is None
            expected = compare(baseline, serialised)
            assert [d.as_dict() for d in lazy.detections if d.kind == "defacement"] == (
                [expected.as_dict()] if expected else []
            )


def test_blank_class_no_longer_breaks_the_fingerprint():
    # class=" " used to raise IndexError in the region keys (and fail the whole analysis); it names no region.
    page = Page("<html><body><div id=a><p class=' '>学校新闻</p></div></body></html>")
    keys = {key for key in defacement.Sketch(page)._texts}
    assert keys == {"div#a>p"}


# --- Hidden links: the short cut ----------------------------------------------------------------------------------


def full_hidden_links(page, library):
    finder = hidden_links.HiddenLinkFinder(page, library)
    finder.elements_may_carry_payload = lambda: True  # always collect every hidden element
    return finder.detection()


def hidden_link_cases():
    for name, html, entry in corpus_pages():
        yield name, html, entry["url"], entry.get("site_domains", ())
    for name, html, host in farm_pages():
        yield name, html, f"https://{host}/", (host,)
    for name, html in odd_pages():
        yield name, html, "https://www.school.example/", ("school.example",)
    host = HOSTS[0]
    pages = SchoolPages(host, invent_school_name(host))
    rng = random.Random(10)
    techniques = [scenario.removeprefix("hidden_") for scenario in FARM_SCENARIOS if scenario.startswith("hidden_")]
    for index in range(20):
        blocks = {}
        for technique in rng.sample(techniques, 3):
            place, block = pages.hidden_block(technique)
            blocks[place] = blocks.get(place, "") + block
        yield f"combo{index}", pages._compose(**blocks), f"https://{host}/", (host,)


@pytest.mark.parametrize(
    "library",
    [KeywordLibrary.default(), KeywordLibrary.from_entries([("gambling", "百家 乐"), ("gambling", "新葡京")])],
    ids=["default", "words-with-spaces"],
)
def test_hidden_link_short_cut_equals_full_collection(library):
    short_cuts = 0
    for name, html, url, site_domains in hidden_link_cases():
        page = Page(html, url=url, scope=SiteScope(url, site_domains))
        finder = hidden_links.HiddenLinkFinder(page, library)
        fast = finder.detection()
        short_cuts += finder.holders is not None and not finder.candidates
        full = full_hidden_links(Page(html, url=url, scope=SiteScope(url, site_domains)), library)
        assert (fast and fast.as_dict()) == (full and full.as_dict()), name
    if not library.has_whitespace:
        assert short_cuts > 50  # the short cut is the common case
