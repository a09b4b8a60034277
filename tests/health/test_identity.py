"""ID number validation: the canonical fast path answers exactly as python-stdnum does."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from health.identity import MESSAGES, id_number_clean
from tests import factories


def stdnum_answer(raw: str):
    """What id_number_clean answered before its fast path: stdnum's number, or its error's message."""
    try:
        return ric.validate(raw)
    except StdnumError as error:
        return str(MESSAGES.get(type(error), "other"))


def clean_answer(raw: str):
    try:
        return id_number_clean(raw)
    except ValidationError as error:
        message = error.messages[0]
        return message if message in {str(m) for m in MESSAGES.values()} else "other"


def with_check(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


# Place codes of every kind: current, abolished (110103 宣武区 until 2010), unknown, and dates on every edge.
PLACES = ["110105", "110103", "130102", "429004", "110119", "999999", "000000"]
canonical_bodies = st.builds(
    lambda place, year, month, day, serial: f"{place}{year:04d}{month:02d}{day:02d}{serial:03d}",
    st.sampled_from(PLACES),
    st.integers(1800, 2100),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 999),
)


@settings(max_examples=600, deadline=None)
@given(canonical_bodies, st.sampled_from(["valid", "0", "5", "X", "x"]))
def test_canonical_numbers_get_stdnum_s_answer(body, last):
    raw = with_check(body) if last == "valid" else body + last
    assert clean_answer(raw) == stdnum_answer(raw)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789Xx -\t", min_size=0, max_size=22))
def test_any_spelling_gets_stdnum_s_answer(raw):
    assert clean_answer(raw) == stdnum_answer(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "11010319900101001",  # 宣武区 was merged in 2010: a 1990 birth there is valid ...
        "11010320150101001",  # ... a 2015 one is not
        "11010519000229001",  # 1900 was not a leap year
        "11010520000229001",  # 2000 was
    ],
)
def test_birthplace_and_date_edges(raw):
    number = with_check(raw)
    assert clean_answer(number) == stdnum_answer(number)


def test_the_abolished_district_is_judged_by_the_birth_year():
    assert id_number_clean(with_check("11010319900101001")) == with_check("11010319900101001")
    with pytest.raises(ValidationError):
        id_number_clean(with_check("11010320150101001"))


def test_a_valid_number_with_spaces_around_or_lower_case_is_canonicalised():
    number = factories.id_number(region="110105")
    assert id_number_clean(f" {number.lower()} ") == number


def test_the_digest_is_hmac_sha256_of_the_canonical_number_with_the_key():
    # Every stored digest was made this way: a change here would orphan them all.
    import hashlib
    import hmac

    from django.conf import settings

    from health.identity import id_number_digest

    number = factories.id_number(region="110105")
    expected = hmac.new(settings.PERSON_ID_HASH_KEY.encode(), number.encode(), hashlib.sha256).hexdigest()
    assert id_number_digest(number) == expected
