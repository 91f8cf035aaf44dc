"""Hidden spam links (暗链/黑链): content hidden from visitors but read by search engines.

The analyser first collects *hidden blocks* by every technique family of domain.md §5 (CSS in ``style`` attributes
and ``<style>`` rules, off-screen positioning, tiny marquees, script-written or script-hidden wrappers, ``<noscript>``,
comments, data attributes), then keeps only the blocks that carry a *payload*: links or bare domains to foreign sites
(not the site's own, not on the trusted allow-list) or spam keywords. Hiding by itself is everyday web design (dropdown
menus, skip links, modals, templates); hiding links to other sites is what spam injection does. Bare spam domains in
visible text and zero-size foreign iframes are reported by the same detection.

The rule for a payload: at least ``MIN_FOREIGN_TARGETS`` distinct foreign targets, or one foreign target whose anchor
text or host name is spam, or spam keywords in the hidden text.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from django.utils.translation import gettext_noop
from selectolax.lexbor import SelectolaxError

from ..vocabulary import HIDDEN_LINKS
from .domains import find_bare_domains, host_of, is_spam_host
from .keywords import SPAM_CATEGORIES, KeywordLibrary
from .page import Page, excerpt, parse_fragment, squash
from .results import HIGH, MEDIUM, Detection
from .style import (
    UNKNOWN,
    background_of,
    hiding_techniques,
    length_px,
    parse_colour,
    parse_declarations,
    same_colour,
    stylesheet_rules,
)

MIN_FOREIGN_TARGETS = 2
MIN_BARE_DOMAINS = 3  # bare foreign domains in visible text without any spam signal
MARQUEE_TINY_PX = 10
MARQUEE_FAST_SCROLLAMOUNT = 100
MAX_BLOCKS = 10
MAX_LINKS = 30
MAX_WRAPPED_CHARS = 20000  # how far after a script opening a hidden wrapper we look for its content
WHITE = (255, 255, 255)

# Selectors made only of these characters can be joined into one selector list (one pass over the tree) without
# changing what each one matches; anything else (attribute values, pseudo-classes...) is queried on its own.
_SIMPLE_SELECTOR_RE = re.compile(r"[A-Za-z0-9_#.>+~* \t\n-]+")

# Resource URLs in data attributes are lazy-loaded images and media, not links.
_RESOURCE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".bmp", ".ico", ".mp4", ".mp3", ".js", ".css")
_URL_RE = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s'\"<>]*", re.IGNORECASE)

# Script patterns. They run over the text of inline scripts only, never over the document.
_JS_STRING_RE = re.compile(r"'((?:[^'\\\n]|\\.)*)'|\"((?:[^\"\\\n]|\\.)*)\"")
_JS_WRITE_RE = re.compile(r"document\s*\.\s*write(?:ln)?\s*\(")
_JS_ESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)")
_HIDE_BY_ID_RE = re.compile(
    r"getElementById\(\s*['\"]([\w-]+)['\"]\s*\)\s*\.style\s*\.\s*"
    r"(?:display\s*=\s*['\"]none|visibility\s*=\s*['\"]hidden|csstext\s*=\s*['\"][^'\"]*(?:display\s*:\s*none|visibility\s*:\s*hidden))",
    re.IGNORECASE,
)
_HIDE_BY_QUERY_RE = re.compile(
    r"querySelector(?:All)?\(\s*['\"]([^'\"]+)['\"]\s*\)(?:\[\d+\])?\s*\.style\s*\.\s*"
    r"(?:display\s*=\s*['\"]none|visibility\s*=\s*['\"]hidden)",
    re.IGNORECASE,
)
_VARIABLE_BY_ID_RE = re.compile(r"(\w+)\s*=\s*document\.getElementById\(\s*['\"]([\w-]+)['\"]\s*\)")
_VARIABLE_HIDDEN_RE = re.compile(r"\b(\w+)\.style\.(?:display\s*=\s*['\"]none|visibility\s*=\s*['\"]hidden)")
_JQUERY_HIDE_RE = re.compile(
    r"(?:\$|jQuery)\(\s*['\"]([^'\"]+)['\"]\s*\)\s*\.\s*"
    r"(?:hide\(|css\(\s*['\"](?:display|visibility)['\"]\s*,\s*['\"](?:none|hidden)['\"]|css\(\s*\{\s*['\"]?display['\"]?\s*:\s*['\"]none)"
)
_JS_HIDDEN_WRAPPER_RE = re.compile(
    r"<(?:div|span|p|ul|font|section)\b[^>]*(?:display\s*:\s*none|visibility\s*:\s*hidden|text-indent\s*:\s*-\d{3,}"
    r"|(?:left|top|margin(?:-left|-top)?)\s*:\s*-\d{3,}|font-size\s*:\s*0|height\s*:\s*0)",
    re.IGNORECASE,
)


@dataclass
class Block:
    """A hidden piece of the page and what it carries."""

    technique: str
    techniques: list[str]
    html: str
    links: list[dict] = field(default_factory=list)  # foreign links: href, host, text
    bare_domains: list[str] = field(default_factory=list)
    keywords: list[dict] = field(default_factory=list)
    spam_hosts: bool = False

    @property
    def targets(self) -> set[str]:
        return {link["href"] for link in self.links} | set(self.bare_domains)

    def is_spam(self) -> bool:
        return bool(self.keywords) or self.spam_hosts

    def has_payload(self) -> bool:
        targets = len(self.targets)
        if targets >= MIN_FOREIGN_TARGETS or (targets and self.is_spam()):
            return True
        return bool(self.keywords)


class HiddenLinkFinder:
    """Collects hidden blocks of one page, then judges their payload."""

    def __init__(self, page: Page, library: KeywordLibrary):
        self.page = page
        self.library = library
        self.candidates: dict[int, tuple] = {}  # mem_id -> (node, [techniques])
        self.fragments: list[Block] = []  # blocks found in comments, data attributes and script strings
        self.holders: dict | None = None  # ``payload_holders()`` once known: other elements carry no payload

    # --- collection ---------------------------------------------------------------------------------------------

    def add(self, node, technique: str):
        entry = self.candidates.get(node.mem_id)
        if entry is None:
            self.candidates[node.mem_id] = (node, [technique])
        elif technique not in entry[1]:
            entry[1].append(technique)

    def collect(self):
        page = self.page
        colours, backgrounds = {}, {}
        for node, style in page.styled:
            declarations = parse_declarations(style)
            for technique in hiding_techniques(declarations):
                self.add(node, technique)
            if colour := parse_colour(declarations.get("color", "")):
                colours[node.mem_id] = (node, colour)
            if (background := background_of(declarations)) is not None:
                backgrounds[node.mem_id] = background
        for node, attributes in page.coloured:
            if "bgcolor" in attributes and node.mem_id not in backgrounds:
                backgrounds[node.mem_id] = parse_colour(attributes["bgcolor"]) or UNKNOWN
            if "color" in attributes and node.tag == "font" and node.mem_id not in colours:
                if colour := parse_colour(attributes["color"]):
                    colours[node.mem_id] = (node, colour)
        self.collect_stylesheets(colours, backgrounds)
        self.collect_same_colour(colours, backgrounds)
        self.collect_marquees()
        self.collect_scripts()
        for node in page.tree.css("[hidden]"):
            self.add(node, "css_display_none")  # the HTML hidden attribute is display:none in every browser
        for node in page.tree.css("noscript"):
            self.add(node, "noscript_links")

    def select(self, selector: str):
        selector = selector.strip()
        if not selector or ":" in selector or "@" in selector or selector in ("html", "body", "*"):
            return []
        try:
            return self.page.tree.css(selector)
        except SelectolaxError:
            return []

    def collect_stylesheets(self, colours, backgrounds):
        for css in self.page.style_sheets:
            for rule in stylesheet_rules(css):
                techniques, colour, background = rule.techniques, rule.colour, rule.background
                if not techniques and not colour and background is None:
                    continue
                for selector in rule.selectors:
                    for node in self.select(selector):
                        for technique in techniques:
                            self.add(node, technique)
                        if colour:
                            colours.setdefault(node.mem_id, (node, colour))
                        if background is not None:
                            backgrounds.setdefault(node.mem_id, background)

    def collect_same_colour(self, colours, backgrounds):
        """Text coloured like the nearest background behind it (own, ancestor's, or the white default)."""
        possible = [WHITE, *{value for value in backgrounds.values() if isinstance(value, tuple)}]
        like_a_background = {}  # colour -> whether it is like any background on the page (or the white default)
        for mem_id, (node, colour) in colours.items():
            alike = like_a_background.get(colour)
            if alike is None:
                alike = like_a_background[colour] = any(same_colour(colour, value) for value in possible)
            if not alike:
                continue  # like no background on the page: no need to find the one behind this element
            background = backgrounds.get(mem_id)
            ancestor = node.parent
            while background is None and ancestor is not None:
                background = backgrounds.get(ancestor.mem_id)
                ancestor = ancestor.parent
            if same_colour(colour, WHITE if background is None else background):
                self.add(node, "css_same_colour")

    def collect_marquees(self):
        for node, attributes in self.page.marquees:
            style = parse_declarations(attributes.get("style", ""))
            sizes = [length_px(attributes.get(name, "") or style.get(name, "")) for name in ("width", "height")]
            tiny = any(size is not None and size <= MARQUEE_TINY_PX for size in sizes)
            try:
                fast = int(attributes.get("scrollamount") or 0) >= MARQUEE_FAST_SCROLLAMOUNT
            except ValueError:
                fast = False
            if tiny or fast:
                self.add(node, "marquee_tiny")

    def collect_scripts(self):
        for script, code in self.page.inline_scripts:
            for selector in self.hidden_targets(code):
                for node in self.select(selector):
                    self.add(node, "js_hide_after_load")
            if _JS_WRITE_RE.search(code):
                self.collect_written_wrapper(script, code)

    @staticmethod
    def hidden_targets(code: str) -> list[str]:
        """Selectors of elements that a script hides (by id, query selector or jQuery)."""
        selectors = ["#" + name for name in _HIDE_BY_ID_RE.findall(code)]
        selectors += _HIDE_BY_QUERY_RE.findall(code)
        selectors += _JQUERY_HIDE_RE.findall(code)
        hidden_variables = set(_VARIABLE_HIDDEN_RE.findall(code))
        if hidden_variables:
            selectors += [
                "#" + name for variable, name in _VARIABLE_BY_ID_RE.findall(code) if variable in hidden_variables
            ]
        return selectors

    def collect_written_wrapper(self, script, code: str):
        """``document.write`` of a hidden wrapper: either around links in the same string, or an opening tag whose
        content is the plain HTML that follows the script (closed by a later ``document.write('</div>')``)."""
        written = script_strings(code)
        if not _JS_HIDDEN_WRAPPER_RE.search(written):
            return
        fragment = parse_fragment(written)
        if fragment.css_first("a[href]") is not None or find_bare_domains(
            fragment.body.text() if fragment.body else ""
        ):
            self.fragments.append(self.fragment_block("js_write_hidden", written, fragment))
            return
        # The wrapper is open: the hidden content is the markup between this script and the next one (which writes
        # the closing tag). Read it from the source, because the parser may have moved it (foster parenting in
        # table layouts puts the links before the table but leaves the scripts in place).
        source = self.page.source
        start = source.find(code)
        if start < 0:
            return
        start = source.find("</script>", start)
        end = source.find("<script", start + 9) if start >= 0 else -1
        if start < 0 or end < 0:
            return
        between = source[start + 9 : min(end, start + 9 + MAX_WRAPPED_CHARS)]
        if between.strip():
            self.fragments.append(self.fragment_block("js_write_hidden", written + between, parse_fragment(between)))

    def collect_fragments(self):
        """Links in comments and data attributes: markup the browser never shows, search engines may read."""
        comments = [text for text in self.page.comments if "href" in text or "://" in text or find_bare_domains(text)]
        if comments:
            joined = "\n".join(comments)
            self.fragments.append(self.fragment_block("comment_links", joined, parse_fragment(joined)))
        values = []
        for _node, name, value in self.page.data_attributes:
            if "<" in value or "://" in value or find_bare_domains(value):
                values.append(f'{name}="{value}"')
        if values:
            block = Block("data_attribute_links", ["data_attribute_links"], excerpt("\n".join(values)))
            for value in values:
                self.fill_from_markup(block, value.split("=", 1)[1].strip('"'))
            self.fragments.append(block)

    # --- fast path ----------------------------------------------------------------------------------------------
    #
    # A hidden element only becomes a block when it holds a payload: a link to a foreign site, a foreign bare domain or
    # a spam keyword in its text (``Block.has_payload``), and a hidden ancestor only matters to a foreign iframe. So
    # when no element on the way from such a payload (or iframe) up to the root can be hidden, collecting the hidden
    # elements of the page (one CSS query per style rule, colour inheritance...) cannot change the result, and is
    # skipped. "Can be hidden" over-approximates every rule of ``collect``; when in doubt, ``collect`` runs.

    def collect_written_wrappers(self):
        for script, code in self.page.inline_scripts:
            if _JS_WRITE_RE.search(code):
                self.collect_written_wrapper(script, code)

    def elements_may_carry_payload(self) -> bool:
        if self.library.has_whitespace:
            return True  # a keyword could span two text nodes: the per-node scan of the text would not see it
        holders = self.holders = self.payload_holders()
        return bool(holders) and self.may_hide_any(holders)

    def payload_holders(self) -> dict:
        """mem_id -> node of every element that holds a payload, with its ancestors; and the iframes' ancestors."""
        page, scope, holders = self.page, self.page.scope, {}

        def hold(node):
            while node is not None and node.mem_id not in holders:
                holders[node.mem_id] = node
                node = node.parent

        for node, href in page.anchors:
            if scope.is_foreign(host_of(href)):
                hold(node)
        text_nodes = page.text_nodes
        for match in page.keyword_matches(self.library):
            if match.category in SPAM_CATEGORIES:
                hold(text_nodes[page.node_index_at(match.start)].parent)
        for match in page.bare_domain_matches:
            if scope.is_foreign(match.group(1).lower()):
                hold(text_nodes[page.node_index_at(match.start())].parent)
        for element, _text in page.raw_texts:
            hold(element)  # script, style, title... text is part of an element's text() too: not worth scanning
        for node, attributes in page.iframes:
            if scope.is_foreign(host_of(attributes.get("src") or "")):
                hold(node.parent)
        return holders

    def may_hide_any(self, holders: dict) -> bool:
        """Whether any of these elements could be a hidden candidate of ``collect`` (over-approximated)."""
        page = self.page
        styles = [(node, parse_declarations(style)) for node, style in page.styled]
        rules = [rule for css in page.style_sheets for rule in stylesheet_rules(css)]
        backgrounds = {background_of(declarations) for _node, declarations in styles}
        backgrounds |= {
            parse_colour(attributes["bgcolor"]) for _node, attributes in page.coloured if "bgcolor" in attributes
        }
        backgrounds |= {rule.background for rule in rules}
        possible = [WHITE, *(value for value in backgrounds if isinstance(value, tuple))]
        verdicts = {}

        def same_as_a_background(colour) -> bool:
            if not isinstance(colour, tuple):
                return False
            verdict = verdicts.get(colour)
            if verdict is None:
                verdict = verdicts[colour] = any(same_colour(colour, value) for value in possible)
            return verdict

        for node, declarations in styles:
            if node.mem_id in holders and (
                hiding_techniques(declarations) or same_as_a_background(parse_colour(declarations.get("color", "")))
            ):
                return True
        for node, attributes in page.coloured:
            if (
                node.mem_id in holders
                and "color" in attributes
                and same_as_a_background(parse_colour(attributes["color"]))
            ):
                return True
        for node in holders.values():
            tag = node.tag
            if tag in ("marquee", "noscript") or (tag and tag[0] != "-" and "hidden" in node.attributes):
                return True
        selectors = [selector for _script, code in page.inline_scripts for selector in self.hidden_targets(code)]
        for rule in rules:
            if rule.techniques or same_as_a_background(rule.colour):
                selectors += rule.selectors
        return self.selects_any(selectors, holders)

    def selects_any(self, selectors, holders: dict) -> bool:
        simple, other = [], []
        for selector in selectors:
            selector = selector.strip()
            if not selector or ":" in selector or "@" in selector or selector in ("html", "body", "*"):
                continue  # never selected by ``select``
            (simple if _SIMPLE_SELECTOR_RE.fullmatch(selector) else other).append(selector)
        if simple:
            try:
                if any(node.mem_id in holders for node in self.page.tree.css(", ".join(dict.fromkeys(simple)))):
                    return True
            except SelectolaxError:
                other += simple  # one of them is not valid: ask one by one, like ``select``
        return any(node.mem_id in holders for selector in dict.fromkeys(other) for node in self.select(selector))

    # --- payload ------------------------------------------------------------------------------------------------

    def fragment_block(self, technique: str, html: str, fragment) -> Block:
        block = Block(technique, [technique], excerpt(html))
        root = fragment.body or fragment.root
        self.fill_links(block, root.css("a[href], area[href]"))
        text = root.text(separator=" ") if root is not None else ""
        self.fill_text(block, text)
        return block

    def fill_from_markup(self, block: Block, value: str):
        if "<" in value:
            fragment = parse_fragment(value)
            root = fragment.body or fragment.root
            self.fill_links(block, root.css("a[href], area[href]"))
            self.fill_text(block, root.text(separator=" "))
            return
        for url in _URL_RE.findall(value):
            if url.lower().split("?", 1)[0].endswith(_RESOURCE_EXTENSIONS):
                continue
            self.add_link(block, url, "")
        self.fill_text(block, _URL_RE.sub(" ", value))

    def fill_links(self, block: Block, anchors):
        for anchor in anchors:
            self.add_link(block, anchor.attributes.get("href") or "", squash(anchor.text() or ""))

    def add_link(self, block: Block, href: str, text: str):
        host = host_of(href)
        if not self.page.scope.is_foreign(host):
            return
        if any(link["href"] == href for link in block.links):
            return
        block.links.append({"href": href, "host": host, "text": text[:100]})
        if is_spam_host(host) or (text and self.library.has_spam(text)):
            block.spam_hosts = True

    def fill_text(self, block: Block, text: str):
        for match in find_bare_domains(text):
            domain = match.group(1).lower()
            if self.page.scope.is_foreign(domain) and domain not in block.bare_domains:
                if not any(link["host"] == domain for link in block.links):
                    block.bare_domains.append(domain)
                if is_spam_host(domain):
                    block.spam_hosts = True
        for match in self.library.scan(text):
            if match.category in SPAM_CATEGORIES and len(block.keywords) < 20:
                block.keywords.append({"word": match.word, "category": match.category})

    def element_blocks(self) -> list[Block]:
        """Hidden elements, nested ones folded into their outermost hidden ancestor."""
        blocks = []
        for mem_id, (node, techniques) in self.candidates.items():
            ancestor, nested = node.parent, False
            while ancestor is not None:
                outer = self.candidates.get(ancestor.mem_id)
                if outer is not None and outer is not self.candidates[mem_id]:
                    for technique in techniques:
                        if technique not in outer[1]:
                            outer[1].append(technique)
                    nested = True
                    break
                ancestor = ancestor.parent
            if nested:
                continue
            if self.holders is not None and mem_id not in self.holders:
                continue  # no link, domain or keyword inside: a block without payload, dropped anyway
            block = Block(techniques[0], techniques, "")
            anchors = node.css("a[href], area[href]")
            if node.tag in ("a", "area"):
                anchors = [node, *anchors]
            self.fill_links(block, anchors)
            self.fill_text(block, node.text(separator=" ") or "")
            if block.links or block.bare_domains or block.keywords:
                block.html = excerpt(node.html or "")
            blocks.append(block)
        return blocks

    # --- outside hidden blocks ----------------------------------------------------------------------------------

    def bare_domain_block(self) -> Block | None:
        """Foreign domains written as plain text (outside links), a favourite of spam that avoids ``<a>`` tags."""
        page = self.page
        domains, spam, contexts = [], False, []
        for match in page.bare_domain_matches:
            domain = match.group(1).lower()
            if not page.scope.is_foreign(domain):
                continue
            node = page.text_nodes[page.node_index_at(match.start())]
            if _inside_link(node):
                continue
            if domain not in domains:
                domains.append(domain)
            context = page.texts[page.node_index_at(match.start())]
            contexts.append(squash(context)[:200])
            if is_spam_host(domain) or self.library.has_spam(context):
                spam = True
        if not domains or not (spam or len(domains) >= MIN_BARE_DOMAINS):
            return None
        block = Block("bare_domain_text", ["bare_domain_text"], excerpt(" | ".join(dict.fromkeys(contexts))))
        block.bare_domains = domains
        block.spam_hosts = spam
        for context in dict.fromkeys(contexts):
            self.fill_text(block, context)
        return block

    def iframe_blocks(self) -> list[Block]:
        blocks = []
        for node, attributes in self.page.iframes:
            src = attributes.get("src") or ""
            host = host_of(src)
            if not self.page.scope.is_foreign(host):
                continue
            style = parse_declarations(attributes.get("style", ""))
            sizes = [length_px(attributes.get(name, "") or style.get(name, "")) for name in ("width", "height")]
            hidden = any(size is not None and size <= 1 for size in sizes) or bool(hiding_techniques(style))
            hidden = hidden or any(ancestor in self.candidates for ancestor in _ancestor_ids(node))
            if hidden:
                block = Block("zero_size_iframe", ["zero_size_iframe"], excerpt(node.html or ""))
                block.links.append({"href": src, "host": host, "text": ""})
                block.spam_hosts = is_spam_host(host)
                blocks.append(block)
        return blocks

    # --- result -------------------------------------------------------------------------------------------------

    def detection(self) -> Detection | None:
        if self.elements_may_carry_payload():
            self.collect()
        else:
            self.collect_written_wrappers()  # the fragments that ``collect`` would have found, in the same order
        self.collect_fragments()
        blocks = [block for block in self.element_blocks() + self.fragments if block.has_payload()]
        blocks += self.iframe_blocks()
        if bare := self.bare_domain_block():
            blocks.append(bare)
        if not blocks:
            return None
        blocks.sort(key=lambda block: not block.is_spam())
        techniques = list(dict.fromkeys(t for block in blocks for t in [block.technique, *block.techniques]))
        links = list({link["href"]: link for block in blocks for link in block.links}.values())[:MAX_LINKS]
        matches = []
        for link in links:
            matches += self.page.find_in_source(link["href"], limit=1)
        for domain in {d for block in blocks for d in block.bare_domains}:
            matches += self.page.find_in_source(domain, limit=1)
        return Detection(
            kind=HIDDEN_LINKS,
            severity=HIGH if any(block.is_spam() for block in blocks) else MEDIUM,
            summary=gettext_noop("Hidden links to other sites found on the page."),
            technique=blocks[0].technique,
            evidence={
                "techniques": techniques,
                "blocks": [
                    {
                        "technique": block.technique,
                        "techniques": block.techniques,
                        "excerpt": block.html,
                        "links": block.links[:MAX_LINKS],
                        "bare_domains": block.bare_domains[:MAX_LINKS],
                        "keywords": block.keywords,
                    }
                    for block in blocks[:MAX_BLOCKS]
                ],
                "links": links,
                "matches": sorted(matches, key=lambda span: span["offset"]),
            },
        )


def _inside_link(node, levels: int = 4) -> bool:
    ancestor = node.parent
    while ancestor is not None and levels:
        if ancestor.tag == "a":
            return True
        ancestor, levels = ancestor.parent, levels - 1
    return False


def _ancestor_ids(node):
    ancestor = node.parent
    while ancestor is not None:
        yield ancestor.mem_id
        ancestor = ancestor.parent


def script_strings(code: str) -> str:
    """The string literals of a script, unescaped and concatenated: what ``document.write`` calls will write."""
    pieces = []
    for single, double in _JS_STRING_RE.findall(code):
        text = single or double
        if "\\" in text:
            text = _JS_ESCAPE_RE.sub(_unescape_js, text)
        pieces.append(text)
    written = "".join(pieces)
    if "%3c" in written.lower() and ("unescape" in code or "decodeURI" in code):
        written = unquote(written)
    return written


def _unescape_js(match) -> str:
    escape = match.group(1)
    if escape[0] in "xu" and len(escape) > 1:
        return chr(int(escape[1:], 16))
    return {"n": "\n", "t": "\t", "r": ""}.get(escape, escape)


def find_hidden_links(page: Page, library: KeywordLibrary) -> Detection | None:
    return HiddenLinkFinder(page, library).detection()
