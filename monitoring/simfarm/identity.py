"""Invented Chinese resident ID numbers and mobile numbers for the ``id_leak`` scenario.

The analysers use the ISO 7064 MOD 11-2 check character to tell real ID numbers from random digit runs, so the leak
page must carry numbers whose check character is right, or the scenario would test nothing.
"""

from __future__ import annotations

import datetime as dt
import random

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2**(17-i) mod 11 for positions 1..17
_CHECK_CHARS = "10X98765432"  # indexed by the weighted sum mod 11

# County-level division codes used for invented students (a few districts of several provinces).
AREA_CODES = ("320102", "320104", "320106", "320111", "320505", "330106", "330108", "420111", "440106", "510107")

_MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "181",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "199",
)


def check_char(first17: str) -> str:
    """The 18th character of a resident ID number (ISO 7064 MOD 11-2)."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def is_valid_id_number(number: str) -> bool:
    """True for 18 characters with a real birth date and the right check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return number[17].upper() == check_char(number[:17])


def make_id_number(rng: random.Random, birth: dt.date, male: bool) -> str:
    """An invented ID number: area, birth date, a sequence whose last digit is odd for men, and the check character."""
    sequence = rng.randrange(0, 100) * 10 + rng.choice((1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8))
    first17 = f"{rng.choice(AREA_CODES)}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


def make_mobile(rng: random.Random) -> str:
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
