"""One parse of the page, shared by every analyser.

``Page`` walks the lexbor tree once and keeps what several analysers need: the text nodes (outside script and style),
comments, inline scripts, script sources, elements with inline styles or data attributes, style sheets and meta tags.
The walk is a single ``traverse`` call, which is far cheaper than many Python-level searches.
"""

import bisect
import re
from functools import cached_property

from selectolax.lexbor import LexborHTMLParser

from .domains import SiteScope

# Text of these elements is never shown as text.
_NON_TEXT_PARENTS = {"script", "style", "title", "template", "iframe", "noembed", "xmp", "head"}

# Evidence excerpts are capped (in UTF-8 bytes) so a finding row stays small.
MAX_EXCERPT = 2048

# Translation table used before keyword and domain matching: full-width ASCII to half-width, ASCII upper to lower,
# ideographic space to space. It maps one character to one character, so offsets stay valid.
FOLD_TABLE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
FOLD_TABLE.update({code: code + 32 for code in range(ord("A"), ord("Z") + 1)})
FOLD_TABLE.update({code + 0xFEE0: code + 32 for code in range(ord("A"), ord("Z") + 1)})
FOLD_TABLE[0x3000] = 0x20

_WHITESPACE_RE = re.compile(r"\s+")


def fold(text: str) -> str:
    return text.translate(FOLD_TABLE)


def excerpt(html: str, limit: int = MAX_EXCERPT) -> str:
    """At most ``limit`` UTF-8 bytes; never cuts through a number, so masking still recognises it afterwards."""
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
        self.coloured = []  # elements with a colour attribute (font color, bgcolor) and their attributes
        self.tag_sequence: list[str] = []  # element tags with their first class, for the structure sketch
        self._walk()
        self.text = "\n".join(self.texts)
        starts, position = [], 0
        for text in self.texts:
            starts.append(position)
            position += len(text) + 1
        self._text_starts = starts

    def _walk(self):
        # Raw-text elements (script, style, title...) hold a single text node that comes right after them in the
        # walk; any other text node cannot be inside one. Remembering the previous element avoids a parent lookup
        # per text node.
        previous = None
        for node in self.tree.root.traverse(include_text=True):
            tag = node.tag
            if tag == "-text":
                raw_parent, previous = previous, None
                text = node.text_content
                if not text or text.isspace():
                    continue
                if raw_parent is not None and node.parent.mem_id != raw_parent.mem_id:
                    raw_parent = None  # text after an empty <script src=...></script>, not inside it
                parent_tag = raw_parent.tag if raw_parent is not None else ""
                if parent_tag == "title":
                    self.title = self.title or squash(text)
                elif parent_tag == "script":
                    self.inline_scripts.append((raw_parent, text))
                elif parent_tag == "style":
                    self.style_sheets.append(text)
                elif parent_tag not in _NON_TEXT_PARENTS:
                    self.text_nodes.append(node)
                    self.texts.append(text)
                continue
            previous = node if tag in _NON_TEXT_PARENTS else None
            if tag == "-comment":
                self.comments.append(node.comment_content or "")
                continue
            if tag.startswith("-") or tag.startswith("#"):
                continue
            attributes = node.attributes
            self.tag_sequence.append(
                tag + "." + attributes["class"].split(" ", 1)[0] if attributes.get("class") else tag
            )
            if not attributes:
                continue
            if "style" in attributes and attributes["style"]:
                self.styled.append((node, attributes["style"]))
            if "color" in attributes or "bgcolor" in attributes:
                self.coloured.append((node, attributes))
            for name, value in attributes.items():
                if value and name.startswith("data-"):
                    self.data_attributes.append((node, name, value))
                elif value and name in ("alt", "title") and tag != "link":
                    self.attribute_texts.append(value)
            if tag == "script" and attributes.get("src"):
                self.script_srcs.append((node, attributes["src"]))
            elif tag == "meta":
                key = (
                    attributes.get("name") or attributes.get("http-equiv") or attributes.get("property") or ""
                ).lower()
                if key:
                    self.meta[key] = attributes.get("content") or ""
            elif tag == "iframe":
                self.iframes.append((node, attributes))
            elif tag == "marquee":
                self.marquees.append((node, attributes))

    # --- positions --------------------------------------------------------------------------------------------------

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

    @cached_property
    def folded_text(self) -> str:
        return fold(self.text)


def parse_fragment(html: str) -> LexborHTMLParser:
    """Parse a piece of HTML found in a comment, attribute or script string."""
    return LexborHTMLParser(html)
