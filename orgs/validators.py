"""Pure validation rules for unit codes (domain.md §1). No ORM access: tested exhaustively and fast."""

from django.utils.translation import gettext_lazy as _

# GB/T 2260 province-level codes (the first two digits of every division code).
PROVINCE_CODES = {
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "81",
    "82",
}

# School identification code (学校标识码) type prefixes.
SCHOOL_TYPE_CODES = {
    "11": _("Kindergarten"),
    "21": _("Primary school"),
    "22": _("Adult primary school"),
    "31": _("Junior secondary school"),
    "32": _("Vocational junior secondary school"),
    "33": _("Adult junior secondary school"),
    "34": _("Senior secondary school"),
    "35": _("Adult senior secondary school"),
    "36": _("Secondary vocational school"),
    "37": _("Reform school"),
    "41": _("Regular higher education institution"),
    "42": _("Adult higher education institution"),
    "51": _("Special education school"),
    "91": _("Research institute training graduates"),
    "92": _("Other private higher education institution"),
    "93": _("Secondary vocational training institution"),
}


def division_code_error(code: str) -> str | None:
    """Why ``code`` is not a well-formed GB/T 2260 division code, or None.

    Rules: six digits ``PPCCDD``; ``PP`` a province-level code; a county part only under a prefecture part
    (``PP00DD`` with DD≠00 is not a division).
    """
    if len(code) != 6 or not code.isdigit():
        return str(_("A division code has exactly 6 digits"))
    if code[:2] not in PROVINCE_CODES:
        return str(_("%(pp)s is not a province-level code of GB/T 2260") % {"pp": code[:2]})
    if code[2:4] == "00" and code[4:] != "00":
        return str(_("A county code needs a prefecture part (digits 3–4 cannot be 00)"))
    return None


def division_level(code: str) -> str:
    """'province', 'city' or 'county' from the shape of a valid division code."""
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "city"
    return "county"


def school_code_error(code: str, division_code: str = "") -> str | None:
    """Why ``code`` is not a valid school identification code (10 digits ``TTPPNNNNNN``), or None."""
    if len(code) != 10 or not code.isdigit():
        return str(_("A school identification code has exactly 10 digits"))
    if code[:2] not in SCHOOL_TYPE_CODES:
        return str(_("%(tt)s is not a known school type code") % {"tt": code[:2]})
    if code[2:4] not in PROVINCE_CODES:
        return str(_("%(pp)s is not a province-level code") % {"pp": code[2:4]})
    if division_code and code[2:4] != division_code[:2]:
        return str(
            _("Province digits %(pp)s do not match the division code %(dc)s") % {"pp": code[2:4], "dc": division_code}
        )
    return None
