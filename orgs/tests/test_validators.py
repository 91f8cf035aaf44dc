"""Unit code rules (domain.md §1): pure functions, tested across their whole input space."""

from hypothesis import given
from hypothesis import strategies as st

from orgs.validators import PROVINCE_CODES, SCHOOL_TYPE_CODES, division_code_error, division_level, school_code_error


def test_division_codes():
    assert division_code_error("320000") is None
    assert division_code_error("329900") is None
    assert division_code_error("329901") is None
    assert division_level("320000") == "province"
    assert division_level("329900") == "city"
    assert division_level("329901") == "county"
    assert division_code_error("32990") is not None  # 5 digits
    assert division_code_error("32990a") is not None
    assert division_code_error("990000") is not None  # no province 99
    assert division_code_error("320001") is not None  # county without prefecture


def test_school_codes():
    assert school_code_error("2132000001") is None
    assert school_code_error("2132000001", "329901") is None
    assert school_code_error("2133000001", "329901") is not None  # province digits differ from division
    assert school_code_error("1932000001") is not None  # 19 is not a school type
    assert school_code_error("213200001") is not None  # 9 digits
    assert school_code_error("21990000x1") is not None


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_school_code_accepts_exactly_known_types_and_provinces(code):
    valid = code[:2] in SCHOOL_TYPE_CODES and code[2:4] in PROVINCE_CODES
    assert (school_code_error(code) is None) == valid


@given(st.text(min_size=0, max_size=12))
def test_division_code_never_crashes_and_accepts_only_six_digits(code):
    error = division_code_error(code)
    if error is None:
        assert len(code) == 6 and code.isdigit() and code[:2] in PROVINCE_CODES
