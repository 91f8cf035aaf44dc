"""One parse of the page, shared by every analyser.

``Page`` walks the lexbor tree once and keeps what several analysers need: the text nodes (outside script and style),
comments, inline scripts, script sources, elements with inline styles or data attributes, style sheets, meta tags,
links and the text of raw-text elements. The walk is a single ``traverse`` call, which is far cheaper than many
Python-level searches; whatever only some pages need (the folded text, keyword and domain scans, the region of each
text node) is computed on first use and then shared by the analysers.
"""

import bisect
import re
from functools import cached_property
from itertools import accumulate
from operator import attrgetter, methodcaller

import webencodings
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from .domains import SiteScope, find_bare_domains

# Text of these elements is never shown as text.
_NON_TEXT_PARENTS = frozenset({"script", "style", "title", "template", "iframe", "noembed", "xmp", "head"})

# Longest region path of the defacement fingerprint (see ``Page.region_paths``).
REGION_DEPTH = 6

# Evidence excerpts are capped (in UTF-8 bytes) so a finding row stays small.
MAX_EXCERPT = 2048

# Translation table used before keyword and domain matching: full-width ASCII to half-width, ASCII upper to lower,
# ideographic space to space. It maps one character to one character, so offsets stay valid.
FOLD_TABLE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
FOLD_TABLE.update({code: code + 32 for code in range(ord("A"), ord("Z") + 1)})
FOLD_TABLE.update({code + 0xFEE0: code + 32 for code in range(ord("A"), ord("Z") + 1)})
FOLD_TABLE[0x3000] = 0x20

# ``str.translate`` looks every character up in the table, which is slow for CJK text (about 60 ns a character). The
# characters that fold are few and no folded character folds again, so replacing each one that occurs is the same
# translation at C speed.
_FOLD_CHARACTERS = {chr(code): chr(value) for code, value in FOLD_TABLE.items()}
assert not set(_FOLD_CHARACTERS.values()) & set(_FOLD_CHARACTERS), "a folded character must not fold again"
_FOLDING_RE = re.compile("[" + "".join(sorted(re.escape(char) for char in _FOLD_CHARACTERS)) + "]")
_FOLD_BY_TRANSLATE = 64  # shorter strings: translate is cheaper than a search

_WHITESPACE_RE = re.compile(r"\s+")
_TAG = attrgetter("tag")
_MEM_ID = attrgetter("mem_id")
_PARENT = attrgetter("parent")
_ATTRIBUTES = attrgetter("attributes")
_GET_CLASS = methodcaller("get", "class")
_GET_ID = methodcaller("get", "id")
_REGION_TOPS = frozenset({"body", "html", "head"})  # a region path stops there


# --- bytes to text ------------------------------------------------------------------------------------------------
#
# Many school sites in China are older CMS installations written in GB2312 or GBK, some declaring it and some not.
# Decoded as UTF-8 their Chinese text would be replacement characters: no keyword, no registration number, no name
# would be found in it. The page is decoded as a browser in China decodes it (the WHATWG encoding sniffing, in short).

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_HEADER_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_META_CHARSET_RE = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_PRESCAN_BYTES = 1024  # where a browser looks for a <meta> charset
_FALLBACK = "gb18030"  # browsers' default for a zh-CN user; a superset of GB2312 and GBK
_MOSTLY_UTF8 = 10  # valid multi-byte characters per invalid byte above which a page is UTF-8 with a few stray bytes


def _codec(label: str, *, from_meta: bool = False) -> str | None:
    """The Python codec for an encoding label (WHATWG labels: "gb2312" is GBK, "iso-8859-1" is windows-1252)."""
    encoding = webencodings.lookup(label)
    if encoding is None:
        return None
    if encoding.name in ("gbk", "gb18030"):
        return "gb18030"  # what WHATWG's GBK decoder is
    if from_meta and encoding.name.startswith("utf-16"):
        return "utf-8"  # a page that could read its own <meta> as ASCII is not UTF-16
    if encoding.name == "x-user-defined":
        return "windows-1252"
    return encoding.codec_info.name


def decode_html(body: bytes, content_type: str = "") -> str:
    """A fetched page as text: by its byte-order mark, the charset of its Content-Type header, a <meta> charset in
    its first 1,024 bytes, else UTF-8 when it is (mostly) UTF-8 and GB18030 when it is not. Bytes invalid in the
    chosen encoding become U+FFFD."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, "replace")
    match = _HEADER_CHARSET_RE.search(content_type) if content_type else None
    codec = _codec(match.group(1)) if match else None
    if codec is None:
        match = _META_CHARSET_RE.search(body, 0, _PRESCAN_BYTES)
        codec = _codec(match.group(1).decode("ascii"), from_meta=True) if match else None
    if codec is not None:
        return body.decode(codec, "replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", "replace")
    invalid = text.count("\ufffd")
    multi_byte = (len(body) - len(text)) // 2  # each valid CJK character is three bytes and one character
    return text if multi_byte >= _MOSTLY_UTF8 * invalid else body.decode(_FALLBACK, "replace")


def fold(text: str) -> str:
    if len(text) < _FOLD_BY_TRANSLATE or text.isascii():
        return text.translate(FOLD_TABLE)
    found = _FOLDING_RE.findall(text)
    if not found:
        return text
    for char in set(found):
        text = text.replace(char, _FOLD_CHARACTERS[char])
    return text


def excerpt(html: str, limit: int = MAX_EXCERPT) -> str:
    """At most ``limit`` UTF-8 bytes; never cuts through a number, so masking still recognises it afterwards."""
    if len(html) * 4 <= limit:
        return html  # cannot exceed the limit: a character is at most four UTF-8 bytes
    encoded = html.encode("utf-8")
    if len(encoded) <= limit:
        return html
    cut = encoded[: limit - 3].decode("utf-8", "ignore")  # room for the ellipsis (3 bytes)
    end = len(cut)
    while end > 0 and cut[end - 1].isdigit() and html[end].isdigit():
        end -= 1
    return cut[:end] + "…"


def context(text: str, start: int, end: int, chars: int) -> str:
    """``chars`` characters around ``text[start:end]``, widened so that no number is cut in half."""
    start, end = max(0, start - chars), min(len(text), end + chars)
    while start > 0 and text[start].isdigit() and text[start - 1].isdigit():
        start -= 1
    while end < len(text) and text[end - 1].isdigit() and text[end].isdigit():
        end += 1
    return squash(text[start:end])


def squash(text: str) -> str:
    return _WHITESPACE_RE.sub(" ", text).strip()


# The elements whose attributes some analyser reads, found by one CSS query (C code) instead of reading the attributes
# of every element in Python. Attribute selectors match whatever the element's namespace; ``[href*="//"]`` selects the
# links that can point to another host (``domains.host_of`` needs "//"). Data attributes are added by name (below).
_ELEMENT_QUERY = '[style], [color], [bgcolor], [alt], [title], [href*="//"], script, meta, iframe, marquee'
# Names of data attributes written in the source: the tokenizer ends a name at white space, "/", ">" or "=" and
# lower-cases its ASCII letters. The candidates are a superset (some come from scripts or text); each is queried as an
# attribute selector, with CSS escapes for characters outside plain identifiers. "data-" is found in any ASCII case from
# its dash (a pattern starting with a literal is searched in C; case-insensitive patterns test every character). With
# many names, reading every element's attributes is cheaper than one more selector per name.
_DATA_DASH_RE = re.compile(r"-(?<=[dD][aA][tT][aA]-)")
_NAME_REST_RE = re.compile(r"[^\t\n\f\r />=]*")
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
_PLAIN_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
_PLAIN_NAME_RE = re.compile(r"data-[a-z0-9_-]*")
_MAX_DATA_SELECTORS = 4


def data_attribute_names(source: str, raw_texts=()) -> set[str]:
    """Every name of a data attribute the tokenizer can produce from ``source`` (and some more).

    A candidate that is not a plain identifier usually comes from a script (``getAttribute("data-src")``); it is
    left out when it lies inside the text of a script or style element of ``raw_texts`` (the tokenizer reads no
    attributes there), found at its only place in the source.
    """
    names, spans = {}, None
    for dash in _DATA_DASH_RE.finditer(source):
        name = "data-" + _NAME_REST_RE.match(source, dash.end()).group().translate(_ASCII_LOWER)
        if name in names and names[name]:
            continue
        plain = _PLAIN_NAME_RE.fullmatch(name) is not None
        if not plain:
            if spans is None:
                spans = _raw_text_spans(source, raw_texts)
            if any(start <= dash.start() < end for start, end in spans):
                names.setdefault(name, False)
                continue
        names[name] = True
    return {name for name, outside in names.items() if outside}


def _raw_text_spans(source: str, raw_texts) -> list[tuple[int, int]]:
    """Where the text of each script and style element is in the source, when it is there exactly once."""
    spans = []
    for element, text in raw_texts:
        if element.tag in ("script", "style"):
            start = source.find(text)
            if start >= 0 and source.find(text, start + 1) < 0:
                spans.append((start, start + len(text)))
    return spans


def _attribute_selector(name: str) -> str:
    return "[" + "".join(c if c in _PLAIN_NAME_CHARACTERS else f"\\{ord(c):x} " for c in name) + "]"


class Page:
    """A parsed page plus the facts gathered in one walk over its tree."""

    def __init__(self, html: str, *, url: str = "", scope: SiteScope | None = None):
        self.source = html
        self.url = url
        self.scope = scope or SiteScope(url)
        self.tree = LexborHTMLParser(html)
        self.title = ""
        self.text_nodes = []  # lexbor text nodes, document order
        self.texts: list[str] = []  # their text, same order
        self.raw_texts = []  # (element, text) of the other non-blank text nodes: script, style, title, iframe...
        self.comments: list[str] = []
        self.inline_scripts = []  # (node, code)
        self.script_srcs = []  # (node, src)
        self.styled = []  # (node, style attribute value)
        self.data_attributes = []  # (node, name, value)
        self.style_sheets: list[str] = []
        self.attribute_texts: list[str] = []  # alt and title attributes: read by people and by search engines
        self.meta: dict[str, str] = {}
        self.iframes = []
        self.marquees = []
        self.anchors = []  # (node, href) of the <a href> and <area href> whose href holds "//" (may leave the site)
        self.coloured = []  # elements with a colour attribute (font color, bgcolor) and their attributes
        self._keyword_scans = {}
        self._walk()
        self.text = "\n".join(self.texts)

    def _walk(self):
        # Raw-text elements (script, style, title...) hold a single text node that comes right after them in the
        # walk; any other text node cannot be inside one. Remembering the previous element avoids a parent lookup
        # per text node. Blank text nodes are skipped by the walk itself (they are never inside a raw-text element
        # that holds text, and the parent check below covers the text that follows an empty one).
        previous = None
        non_text = _NON_TEXT_PARENTS
        text_nodes, texts, raw_texts = self.text_nodes, self.texts, self.raw_texts
        for node in self.tree.root.traverse(include_text=True, skip_empty=True):
            tag = node.tag
            if tag == "-text":
                raw_parent, previous = previous, None
                text = node.text_content
                if not text or text.isspace():
                    continue
                if raw_parent is None:
                    text_nodes.append(node)
                    texts.append(text)
                    continue
                if node.parent.mem_id != raw_parent.mem_id:
                    text_nodes.append(node)  # text after an empty <script src=...></script>, not inside it
                    texts.append(text)
                    continue
                parent_tag = raw_parent.tag
                raw_texts.append((raw_parent, text))
                if parent_tag == "title":
                    self.title = self.title or squash(text)
                elif parent_tag == "script":
                    self.inline_scripts.append((raw_parent, text))
                elif parent_tag == "style":
                    self.style_sheets.append(text)
                continue
            previous = node if tag in non_text else None
            if tag == "-comment":
                self.comments.append(node.comment_content or "")
        elements = self._queried_elements()
        if elements is None:
            for node in self.tree.root.traverse():
                self._read(node, node.tag)
        else:
            seen = set()
            for node in elements:
                mem_id = node.mem_id
                if mem_id not in seen:  # a node matching several selectors of the list comes once for each
                    seen.add(mem_id)
                    self._read(node, node.tag)

    def _queried_elements(self):
        """The elements ``_read`` needs to see, by CSS; None when reading every element is cheaper or safer."""
        if "\0" in self.source:  # the tokenizer turns NUL in attribute names into U+FFFD
            return None
        names = data_attribute_names(self.source, self.raw_texts)
        if len(names) > _MAX_DATA_SELECTORS:
            return None
        query = _ELEMENT_QUERY + "".join(", " + _attribute_selector(name) for name in sorted(names))
        try:
            return self.tree.css(query)
        except (SelectolaxError, UnicodeError, ValueError):
            return None

    def _read(self, node, tag):
        """What the analysers need from one element's attributes."""
        if tag is None or tag.startswith(("-", "#")):
            return
        attributes = node.attributes
        if not attributes:
            return
        if attributes.get("style"):
            self.styled.append((node, attributes["style"]))
        if "color" in attributes or "bgcolor" in attributes:
            self.coloured.append((node, attributes))
        for name, value in attributes.items():
            if value and name.startswith("data-"):
                self.data_attributes.append((node, name, value))
            elif value and (name == "alt" or name == "title") and tag != "link":
                self.attribute_texts.append(value)
        if tag == "a" or tag == "area":
            href = attributes.get("href")
            if href and "//" in href:
                self.anchors.append((node, href))
        elif tag == "script":
            if attributes.get("src"):
                self.script_srcs.append((node, attributes["src"]))
        elif tag == "meta":
            key = (attributes.get("name") or attributes.get("http-equiv") or attributes.get("property") or "").lower()
            if key:
                self.meta[key] = attributes.get("content") or ""
        elif tag == "iframe":
            self.iframes.append((node, attributes))
        elif tag == "marquee":
            self.marquees.append((node, attributes))

    @cached_property
    def tag_sequence(self) -> list[str]:
        """Element tags with their first class, document order: the structure sketch of the fingerprint."""
        tags, mem_ids, classes, _identifiers = self._elements
        sequence = tags.copy()
        if classes:
            position = dict(zip(mem_ids, range(len(mem_ids)), strict=True))
            for mem_id, css_class in classes.items():
                if css_class:
                    sequence[position[mem_id]] += "." + css_class.split(" ", 1)[0]
        return sequence

    @cached_property
    def region_paths(self) -> dict[int, tuple[str, ...]]:
        """mem_id of each element -> its region path: the tag path up to the nearest element with an id or class
        (that element as ``tag#id`` or ``tag.class``; html, head and body end a path), at most ``REGION_DEPTH`` long."""
        tags, mem_ids, classes, identifiers = self._elements
        named = {}  # mem_id -> "#id" or ".class" of the elements that start a region
        for mem_id, css_class in classes.items():
            if css_class and css_class.split():
                named[mem_id] = "." + css_class.split()[0]
        for mem_id, identifier in identifiers.items():
            if identifier:
                named[mem_id] = "#" + identifier  # the id wins over the class
        paths = {}
        tops, get_path = _REGION_TOPS, paths.get
        parent_ids = map(_MEM_ID, map(_PARENT, self._element_nodes))  # a parent comes before its children
        for tag, mem_id, parent_id in zip(tags, mem_ids, parent_ids, strict=True):
            if tag in tops:
                paths[mem_id] = ()
            elif mem_id in named:
                paths[mem_id] = (tag + named[mem_id],)
            else:
                paths[mem_id] = (get_path(parent_id, ()) + (tag,))[-REGION_DEPTH:]
        return paths

    @cached_property
    def _element_nodes(self):
        return self.tree.css("*")  # every element once, in document order

    @cached_property
    def _elements(self):
        """Tags and mem_ids of every element, and the class and id attributes of those that have them (attribute
        and property reads go through ``map``: C loops)."""
        tree = self.tree
        nodes = self._element_nodes
        tags = list(map(_TAG, nodes))
        if None in tags:
            raise ValueError("an element without a tag name")  # cannot happen: elements always have one
        classed = tree.css("[class]")
        classes = dict(zip(map(_MEM_ID, classed), map(_GET_CLASS, map(_ATTRIBUTES, classed)), strict=True))
        identified = tree.css("[id]")
        identifiers = dict(zip(map(_MEM_ID, identified), map(_GET_ID, map(_ATTRIBUTES, identified)), strict=True))
        return tags, list(map(_MEM_ID, nodes)), classes, identifiers

    # --- positions --------------------------------------------------------------------------------------------------

    @cached_property
    def _text_starts(self) -> list[int]:
        """Offset in ``text`` of each text node's first character."""
        return [0, *accumulate(len(text) + 1 for text in self.texts[:-1])] if self.texts else []

    def node_index_at(self, text_offset: int) -> int:
        """Index into ``text_nodes`` of the node that holds ``self.text[text_offset]``."""
        return max(0, bisect.bisect_right(self._text_starts, text_offset) - 1)

    def find_in_source(self, needle: str, limit: int = 5, start: int = 0) -> list[dict]:
        """Up to ``limit`` ``{"offset", "length"}`` spans of ``needle`` in the page source (character offsets).

        The parser does not report source positions, so evidence points at literal occurrences of the matched text;
        text written with entities (rare in Chinese pages) gets no span.
        """
        spans = []
        if not needle:
            return spans
        position = self.source.find(needle, start)
        while position >= 0 and len(spans) < limit:
            spans.append({"offset": position, "length": len(needle)})
            position = self.source.find(needle, position + len(needle))
        return spans

    # --- shared scans -----------------------------------------------------------------------------------------------

    @cached_property
    def folded_text(self) -> str:
        return fold(self.text)

    def keyword_matches(self, library) -> list:
        """``library.scan`` of the visible text, shared by the analysers that need it (one scan per library)."""
        found = self._keyword_scans.get(id(library))
        if found is None or found[0] is not library:
            found = self._keyword_scans[id(library)] = (library, library.scan(self.text))
        return found[1]

    @cached_property
    def bare_domain_matches(self) -> list:
        """``BARE_DOMAIN_RE`` matches in the visible text."""
        return find_bare_domains(self.text)


def parse_fragment(html: str) -> LexborHTMLParser:
    """Parse a piece of HTML found in a comment, attribute or script string."""
    return LexborHTMLParser(html)
