"""ICP filing number (ICP备/ICP证) and public-security filing number (公网安备) in the page, usually its footer.

Both must be displayed by every site hosted in mainland China. We look in the text and in alt/title attributes (the
公网安备 badge is often an image with the number as alt text); a number drawn only inside an image cannot be read and
is reported as missing.
"""

import re

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from ..vocabulary import MISSING_REGISTRATION
from .page import Page
from .results import LOW, Detection

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
ICP_RE = re.compile(
    rf"[{_PROVINCES}]\s*ICP\s*(?:备|证)\s*[:：]?\s*\d{{5,12}}\s*号?(?:\s*-\s*\d{{1,3}})?", re.IGNORECASE
)
PUBLIC_SECURITY_RE = re.compile(rf"[{_PROVINCES}]\s*公网安备\s*[:：]?\s*\d{{10,16}}\s*号?")

REGISTRATIONS = {
    "icp": _("ICP filing number"),
    "public_security": _("Public-security filing number"),
}


# Both patterns start with a province character, tried by the regular-expression engine at every one of those (common)
# characters. A match holds "ICP" (in any case: IGNORECASE also lets İ and ı match "i") or "公网安备" right after the
# province and white space, so ``_search`` finds those words first and tries the pattern only where it can start.
_ICP_WORD_RE = re.compile("[iI\u0130\u0131][cC][pP]")
_PUBLIC_SECURITY_WORD_RE = re.compile("公网安备")
_PROVINCE_CHARACTERS = frozenset(_PROVINCES)


def _search(pattern: re.Pattern, word: re.Pattern, text: str):
    """``pattern.search(text)`` for a pattern made of a province, white space and ``word``, then anything."""
    for hit in word.finditer(text):
        start = hit.start()
        while start and text[start - 1].isspace():
            start -= 1
        if start and text[start - 1] in _PROVINCE_CHARACTERS:
            match = pattern.match(text, start - 1)
            if match is not None:
                return match
    return None


def find_registration(text: str) -> dict[str, str]:
    found = {}
    if match := _search(ICP_RE, _ICP_WORD_RE, text):
        found["icp"] = re.sub(r"\s+", "", match.group(0))
    if match := _search(PUBLIC_SECURITY_RE, _PUBLIC_SECURITY_WORD_RE, text):
        found["public_security"] = re.sub(r"\s+", "", match.group(0))
    return found


def find_missing_registration(page: Page) -> Detection | None:
    found = find_registration(page.text)
    if len(found) < 2 and page.attribute_texts:
        found = {**find_registration("\n".join(page.attribute_texts)), **found}
    missing = [name for name in REGISTRATIONS if name not in found]
    if not missing:
        return None
    return Detection(
        kind=MISSING_REGISTRATION,
        severity=LOW,
        summary=gettext_noop("The page does not show its ICP or public-security filing number."),
        evidence={"missing": missing, "found": found},
    )
