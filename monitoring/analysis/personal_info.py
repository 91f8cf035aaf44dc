"""Personal information exposed on a page: resident ID numbers, mobile numbers, student lists.

ID numbers are validated (ISO 7064 MOD 11-2 check character, real birth date, plausible region) so that order numbers
and other long digit runs do not alert. Evidence never holds a raw number: only masked values and source offsets.

Thresholds (why): publishing one or two contact mobiles (a teacher on duty, an admissions hotline) is normal practice
and does not become a finding; three to nine mobiles on one page look like a contact list (low); ten or more are a
list of people (medium). Any valid ID number or a student list is high; ten or more ID numbers are critical.
"""

import re
from datetime import date

from django.utils.translation import gettext_noop

from ..engine.targets import storable
from ..vocabulary import PERSONAL_INFO
from .page import Page
from .results import CRITICAL, HIGH, LOW, MEDIUM, Detection

MIN_REPORTED_PHONES = 3
MANY_PHONES = 10
MANY_IDS = 10
MIN_LIST_ROWS = 3
MAX_LISTED = 20

# The look-behind ("not after a letter or digit") is checked after the first character, so that each pattern starts
# with a character class or literal and the search skips everything else in C; the matches are the same as with the
# look-behind in front.
ID_RE = re.compile(
    r"([1-9](?<![0-9A-Za-z].)\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx])(?![0-9A-Za-z])"
)
MOBILE_RE = re.compile(r"(1(?<![0-9A-Za-z].)[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![0-9A-Za-z])")

# For masking free text: anything shaped like an ID or a mobile number, valid or not.
_ANY_ID_RE = re.compile(r"(?<!\d)(\d{4})\d{10}(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_ANY_MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d)[- ]?\d{4}[- ]?(\d{4})(?!\d)")
_LONG_DIGITS_RE = re.compile(r"(?<!\d)(\d{4})\d{8,}(\d{3})(?!\d)")  # 15+ digits: old IDs, cut-off IDs

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
# First digit of the region code: 1 North, 2 North-east, 3 East, 4 Central-south, 5 South-west, 6 North-west,
# 7 Taiwan, 8 Hong Kong/Macao/Taiwan residents' permits (81-83).
_REGION_FIRST_DIGITS = set("12345678")

# Column headers that make a table of names a list of people's private data.
_NAME_HEADERS = ("姓名", "学生姓名", "学生")
_ID_HEADERS = ("身份证", "证件号")
_SENSITIVE_HEADERS = ("学籍号", "学籍", "家长", "监护人", "家庭住址", "住址", "出生日期")
_PHONE_HEADERS = ("手机", "电话", "联系方式")


def id_check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def is_valid_id(number: str) -> bool:
    """A plausible 18-character resident ID: region, real birth date not in the future, check character."""
    if len(number) != 18 or not number[:17].isdigit() or number[0] not in _REGION_FIRST_DIGITS:
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > date.today():
        return False
    return id_check_character(number[:17]) == number[17].upper()


def mask_id(number: str) -> str:
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_mobile(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return digits[:3] + "****" + digits[-4:]


_DIGIT_RE = re.compile(r"\d")


def mask_text(text: str) -> str:
    """Mask every ID-shaped and mobile-shaped number in free text (evidence excerpts, contexts)."""
    if not _DIGIT_RE.search(text):
        return text  # every pattern below needs a decimal digit
    text = _ANY_ID_RE.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), text)
    text = _LONG_DIGITS_RE.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 7) + m.group(2), text)
    return _ANY_MOBILE_RE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


def mask_evidence(value):
    """Apply ``mask_text`` to every string of a JSON-like structure, made ``storable`` first (an excerpt read from
    the page source may hold a NUL)."""
    if isinstance(value, str):
        return mask_text(storable(value))
    if isinstance(value, dict):
        return {key: mask_evidence(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_evidence(item) for item in value]
    return value


def find_ids(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1).upper() for m in ID_RE.finditer(text) if is_valid_id(m.group(1))))


def find_mobiles(text: str) -> list[tuple[str, str]]:
    """Distinct (normalised, as written) mobile numbers."""
    found = {}
    for match in MOBILE_RE.finditer(text):
        found.setdefault("".join(match.groups()), match.group(0))
    return list(found.items())


def student_lists(page: Page) -> list[dict]:
    """Tables whose header names people together with ID, student-record, guardian, address or mobile columns."""
    if "姓名" not in page.text and "学生" not in page.text:
        return []
    lists = []
    for table in page.tree.css("table"):
        rows = table.css("tr")
        if len(rows) <= MIN_LIST_ROWS:
            continue
        headers = [cell.text(strip=True) for cell in rows[0].css("th, td")]
        if not headers or any(len(header) > 12 for header in headers):
            continue  # a layout table, not a data table
        if not any(header in _NAME_HEADERS or "姓名" in header for header in headers):
            continue
        sensitive = [h for h in headers if any(word in h for word in _SENSITIVE_HEADERS)]
        data_rows = rows[1:]
        # ID and phone columns count only when their cells hold real numbers: a list of masked ID numbers or of
        # office landlines (a staff directory) is published on purpose.
        id_columns = [i for i, h in enumerate(headers) if any(word in h for word in _ID_HEADERS)]
        if id_columns and _column_share(data_rows, id_columns, _LONG_DIGITS_RE) >= 0.5:
            sensitive += [headers[i] for i in id_columns]
        phone_columns = [i for i, h in enumerate(headers) if any(word in h for word in _PHONE_HEADERS)]
        if phone_columns and _column_share(data_rows, phone_columns, MOBILE_RE) >= 0.5:
            sensitive += [headers[i] for i in phone_columns]
        if sensitive:
            lists.append({"headers": headers[:12], "sensitive_columns": sensitive, "rows": len(data_rows)})
    return lists


def _column_share(rows, columns, pattern) -> float:
    """Share of ``rows`` whose cells in ``columns`` match ``pattern``."""
    hits = 0
    for row in rows:
        cells = row.css("td, th")
        hits += bool(pattern.search(" ".join(cells[i].text() for i in columns if i < len(cells))))
    return hits / len(rows) if rows else 0.0


def find_personal_info(page: Page) -> Detection | None:
    text = page.text
    ids = find_ids(text)
    mobiles = [m for m in find_mobiles(text) if not any(m[0] in number for number in ids)]
    tables = student_lists(page)
    if ids or tables:
        severity = CRITICAL if len(ids) >= MANY_IDS else HIGH
    elif len(mobiles) >= MANY_PHONES:
        severity = MEDIUM
    elif len(mobiles) >= MIN_REPORTED_PHONES:
        severity = LOW
    else:
        return None
    matches = []
    for number in ids[:MAX_LISTED]:
        matches += page.find_in_source(number, limit=1) or page.find_in_source(number.lower(), limit=1)
    for _digits, written in mobiles[:MAX_LISTED]:
        matches += page.find_in_source(written, limit=1)
    if ids or tables:
        summary = gettext_noop("ID numbers or a student list exposed on the page.")
    else:
        summary = gettext_noop("Mobile phone numbers exposed on the page.")
    return Detection(
        kind=PERSONAL_INFO,
        severity=severity,
        summary=summary,
        evidence={
            "id_count": len(ids),
            "id_numbers": [mask_id(number) for number in ids[:MAX_LISTED]],
            "phone_count": len(mobiles),
            "phones": [mask_mobile(digits) for digits, _written in mobiles[:MAX_LISTED]],
            "tables": tables,
            "matches": sorted(matches, key=lambda span: span["offset"]),
        },
    )
