"""Just enough CSS to tell whether a block is hidden from a human visitor.

We never render: we read inline ``style`` attributes and the rules of ``<style>`` blocks, and recognise the handful of
declarations that spam injectors use to hide links (domain.md §5). Values are compared loosely (``0``, ``0px``,
``-9999px``, ``-999em``) because injected CSS comes in every spelling.
"""

import re
from functools import lru_cache
from typing import NamedTuple

# Thresholds: far enough off screen that no desktop or mobile viewport shows the block.
OFFSCREEN_PX = -500
HUGE_POSITION_PX = 5000
NEGATIVE_INDENT_PX = -100
FONT_EM_PX = 16

_LENGTH_RE = re.compile(r"(-?\d*\.?\d+)\s*(px|pt|em|rem|%|vw|vh|cm|mm|in)?", re.IGNORECASE)
_RGB_RE = re.compile(r"rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)(?:[\s,/]+([\d.]+%?))?\s*\)")
_HEX_RE = re.compile(r"#([0-9a-f]{3,8})\b")
_ALPHA_FILTER_RE = re.compile(r"alpha\(\s*opacity\s*=\s*(\d+)")

# The colour names that appear in hand-written and injected school-site CSS.
_NAMED_COLOURS = {
    "white": (255, 255, 255), "black": (0, 0, 0), "red": (255, 0, 0), "green": (0, 128, 0), "blue": (0, 0, 255),
    "yellow": (255, 255, 0), "gray": (128, 128, 128), "grey": (128, 128, 128), "silver": (192, 192, 192),
    "navy": (0, 0, 128), "maroon": (128, 0, 0), "orange": (255, 165, 0), "purple": (128, 0, 128),
    "whitesmoke": (245, 245, 245), "snow": (255, 250, 250), "ivory": (255, 255, 240),
}  # fmt: skip

# A colour that cannot be compared (background image, gradient, transparent). Stops the ancestor search.
UNKNOWN = "unknown"


def parse_declarations(text: str) -> dict[str, str]:
    """``"display: none; COLOR:#FFF !important"`` -> ``{"display": "none", "color": "#fff"}``."""
    declarations = {}
    if "!important" not in text:
        # Lower-casing the whole text at once is the same as lower-casing each name and value (only the removal of
        # "!important", which is case-sensitive, has to come before it).
        for part in text.lower().split(";"):
            name, sep, value = part.partition(":")
            if sep:
                declarations[name.strip()] = value.strip()
        return declarations
    for part in text.split(";"):
        name, sep, value = part.partition(":")
        if not sep:
            continue
        value = value.replace("!important", "").strip().lower()
        declarations[name.strip().lower()] = value
    return declarations


def strip_comments(css: str) -> str:
    if "/*" not in css:
        return css
    pieces, start = [], 0
    while (begin := css.find("/*", start)) >= 0:
        pieces.append(css[start:begin])
        end = css.find("*/", begin + 2)
        start = len(css) if end < 0 else end + 2
    pieces.append(css[start:])
    return "".join(pieces)


def parse_stylesheet(css: str) -> list[tuple[str, dict[str, str]]]:
    """Top-level rules as (selector list, declarations).

    At-rule blocks are skipped as a whole: ``@media (max-width: 768px) { .nav { display: none } }`` hides a menu only on
    small screens, which is responsive design, not link hiding.
    """
    css = strip_comments(css)
    rules, position, size = [], 0, len(css)
    while position < size:
        brace = css.find("{", position)
        if brace < 0:
            break
        prelude = css[position:brace].rsplit(";", 1)[-1].strip()  # drops "@import url(x);" and "@charset ...;"
        if prelude.startswith("@"):
            depth, cursor = 1, brace + 1
            while depth and cursor < size:
                opening, closing = css.find("{", cursor), css.find("}", cursor)
                if closing < 0:
                    cursor = size
                    break
                if 0 <= opening < closing:
                    depth, cursor = depth + 1, opening + 1
                else:
                    depth, cursor = depth - 1, closing + 1
            position = cursor
            continue
        end = css.find("}", brace)
        end = size if end < 0 else end
        rules.append((prelude, parse_declarations(css[brace + 1 : end])))
        position = end + 1
    return rules


class Rule(NamedTuple):
    """A style rule with what the hidden-link analyser reads from it (shared between pages: never modify)."""

    selectors: tuple[str, ...]  # the selector list split at commas, as written
    declarations: dict[str, str]
    techniques: tuple[str, ...]  # ``hiding_techniques(declarations)``
    colour: object  # ``parse_colour(declarations.get("color", ""))``
    background: object  # ``background_of(declarations)``


def _rules(css: str) -> tuple[Rule, ...]:
    rules = []
    for selectors, declarations in parse_stylesheet(css):
        rules.append(
            Rule(
                tuple(selectors.split(",")),
                declarations,
                tuple(hiding_techniques(declarations)),
                parse_colour(declarations.get("color", "")),
                background_of(declarations),
            )
        )
    return tuple(rules)


_cached_rules = lru_cache(maxsize=128)(_rules)
_CACHED_SHEET_MAX = 50_000  # characters: bigger style sheets are parsed every time (bounds the cache's memory)


def stylesheet_rules(css: str) -> tuple[Rule, ...]:
    """``parse_stylesheet`` with each rule's techniques and colours, cached: the pages of a site (and the sites of
    one CMS) repeat the same style sheets."""
    return _cached_rules(css) if len(css) <= _CACHED_SHEET_MAX else _rules(css)


stylesheet_rules.cache_clear = _cached_rules.cache_clear


def length_px(value: str) -> float | None:
    """First length in ``value`` in CSS pixels (percentages and viewport units are not resolvable: None)."""
    if not value:
        return None
    match = _LENGTH_RE.search(value)
    if not match:
        return None
    number, unit = float(match.group(1)), (match.group(2) or "px").lower()
    if unit in ("%", "vw", "vh"):
        return None
    factor = {"px": 1.0, "pt": 4 / 3, "em": FONT_EM_PX, "rem": FONT_EM_PX, "cm": 37.8, "mm": 3.78, "in": 96.0}[unit]
    return number * factor


def all_lengths_px(value: str) -> list[float]:
    lengths = []
    if not value:
        return lengths
    for match in _LENGTH_RE.finditer(value):
        unit = (match.group(2) or "px").lower()
        if unit not in ("%", "vw", "vh"):
            lengths.append(float(match.group(1)) * {"pt": 4 / 3, "em": FONT_EM_PX, "rem": FONT_EM_PX}.get(unit, 1.0))
    return lengths


def parse_colour(value: str) -> tuple[int, int, int] | str | None:
    """An (r, g, b) triple, ``UNKNOWN`` for images/gradients/transparent, or None when no colour is given."""
    value = value.strip().lower()
    if not value:
        return None
    if "url(" in value or "gradient" in value or "transparent" in value:
        return UNKNOWN
    if match := _HEX_RE.search(value):
        digits = match.group(1)
        if len(digits) in (3, 4):
            digits = "".join(c * 2 for c in digits[:3])
        if len(digits) in (6, 8):
            return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    if match := _RGB_RE.search(value):
        alpha = match.group(4)
        if alpha is not None and (float(alpha.rstrip("%")) == 0):
            return UNKNOWN
        return int(match.group(1)), int(match.group(2)), int(match.group(3))
    for token in value.replace(",", " ").split():
        if token in _NAMED_COLOURS:
            return _NAMED_COLOURS[token]
    return None


def same_colour(first, second) -> bool:
    """Equal within a small tolerance: injectors write #fff on #fefefe as readily as on #ffffff."""
    if not isinstance(first, tuple) or not isinstance(second, tuple):
        return False
    if len(first) == len(second) == 3:
        return abs(first[0] - second[0]) + abs(first[1] - second[1]) + abs(first[2] - second[2]) <= 24
    return sum(abs(a - b) for a, b in zip(first, second, strict=True)) <= 24


def background_of(declarations: dict[str, str]):
    """Background colour declared in a rule: explicit colour, ``UNKNOWN`` (image), or None (not declared)."""
    if "background-color" in declarations:
        return parse_colour(declarations["background-color"]) or UNKNOWN
    if "background" in declarations:
        return parse_colour(declarations["background"]) or UNKNOWN
    return None


# The properties ``hiding_techniques`` starts from (it reads width, height and offsets only together with these).
_HIDING_PROPERTIES = frozenset(
    {"display", "visibility", "opacity", "filter", "overflow", "font-size", "text-indent", "clip", "clip-path",
     "position", "margin-left", "margin-top", "margin"}
)  # fmt: skip


def hiding_techniques(declarations: dict[str, str]) -> list[str]:
    """HIDDEN_LINK_TECHNIQUES identifiers that these declarations alone achieve (colour is handled separately)."""
    found = []
    if declarations.keys().isdisjoint(_HIDING_PROPERTIES):
        return found
    # Each test first asks whether its property is declared at all (an absent property reads as "", which hides
    # nothing): most rules declare one or two of these properties.
    get = declarations.get
    if "display" in declarations and declarations["display"].startswith("none"):
        found.append("css_display_none")
    if get("visibility", "") in ("hidden", "collapse"):
        found.append("css_visibility_hidden")
    opacity = get("opacity")
    if opacity is not None and _is_small_number(opacity, 0.05):
        found.append("css_opacity_zero")
    elif "filter" in declarations and (match := _ALPHA_FILTER_RE.search(declarations["filter"])):
        if int(match.group(1)) <= 5:
            found.append("css_opacity_zero")
    if "overflow" in declarations and declarations["overflow"].startswith("hidden"):
        width, height = length_px(get("width", "")), length_px(get("height", ""))
        if (width is not None and width <= 1) or (height is not None and height <= 1):
            found.append("css_zero_size")
    if "font-size" in declarations:
        font_size = length_px(declarations["font-size"])
        if font_size is not None and font_size <= 1:
            found.append("css_font_size_zero")
    if "text-indent" in declarations:
        indent = length_px(declarations["text-indent"])
        if indent is not None and indent <= NEGATIVE_INDENT_PX:
            found.append("css_text_indent")
    if ("clip" in declarations or "clip-path" in declarations) and _is_clipped(get("clip", ""), get("clip-path", "")):
        found.append("css_clip")
    if get("position", "") in ("absolute", "fixed") and _is_offscreen(declarations):
        found.append("offscreen_position")
    if "margin-left" in declarations or "margin-top" in declarations or "margin" in declarations:
        margins = [length_px(get(name, "")) for name in ("margin-left", "margin-top")]
        margins += all_lengths_px(get("margin", ""))
        if any(margin is not None and margin <= OFFSCREEN_PX for margin in margins):
            found.append("negative_margin")
    return found


def _is_small_number(value: str, limit: float) -> bool:
    try:
        return float(value.rstrip("%")) <= (limit * 100 if value.endswith("%") else limit)
    except ValueError:
        return False


def _is_clipped(clip: str, clip_path: str) -> bool:
    if clip.startswith("rect("):
        lengths = all_lengths_px(clip)
        if len(lengths) == 4:
            top, right, bottom, left = lengths
            return right - left <= 1 or bottom - top <= 1
    if clip_path:
        if clip_path.startswith("inset("):
            percent = re.findall(r"(\d+(?:\.\d+)?)%", clip_path)
            return any(float(p) >= 50 for p in percent)
        if clip_path.startswith("circle(") or clip_path.startswith("ellipse("):
            radius = length_px(clip_path[clip_path.find("(") + 1 :])
            return radius is not None and radius <= 0.5
        if clip_path.startswith("polygon("):
            return not re.search(r"[1-9]", clip_path)
    return False


def _is_offscreen(declarations: dict[str, str]) -> bool:
    for side in ("left", "top", "right", "bottom"):
        offset = length_px(declarations.get(side, ""))
        if offset is not None and (offset <= OFFSCREEN_PX or (side in ("left", "top") and offset >= HUGE_POSITION_PX)):
            return True
    return False
