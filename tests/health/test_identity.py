"""Resident ID numbers: the rules as a table of cases at every boundary, and the fast path equal to the rules."""

from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from health import identity
from health.identity import (
    BIRTH_DATE,
    CHECKSUM,
    FORMAT,
    LENGTH,
    PROVINCE,
    check_character,
    id_number_clean,
    id_number_problem,
)
from tests import factories


def with_check(body: str) -> str:
    return body + check_character(body)


def answer(raw):
    """The canonical number, or the message of the refusal."""
    try:
        return id_number_clean(raw)
    except ValidationError as error:
        return error.messages[0]


def beijing_today() -> date:
    return datetime.now(identity.BEIJING).date()


TODAY = beijing_today()
VALID = [
    ("the contract's example", "11010519491231002X"),
    ("大兴区 110115, born 1995 (first registered there after birth)", with_check("11011519950101001")),
    ("宣武区 110103, abolished in 2010, born 2015", with_check("11010320150101001")),
    ("a place code no table knows, in a known province", with_check("11999919900101001")),
    ("Hong Kong residence permit", with_check("81000019900101001")),
    ("Macao residence permit", with_check("82000019900101001")),
    ("Taiwan residence permit", with_check("83000019900101001")),
    ("Taiwan province code 71", with_check("71000019900101001")),
    ("the last province code 65", with_check("65010119900101001")),
    ("born on the first day allowed", with_check("11010519000101001")),
    ("born on 29 February of a leap year", with_check("11010520000229001")),
    ("born today (Beijing)", with_check(f"110105{TODAY:%Y%m%d}001")),
    ("the check character X", "11010519491231002X"),
]
INVALID = [
    ("17 characters", "11010519491231002", LENGTH),
    ("19 characters", "11010519491231002X1", LENGTH),
    ("the old 15-digit form", "110105491231002", LENGTH),
    ("empty", "", LENGTH),
    ("a letter in the body", "1101051949123100AX", FORMAT),
    ("X not at the end", "X10105194912310021", FORMAT),
    ("a hyphen", "110105-1949123100X", FORMAT),
    ("born the day before 1900", with_check("11010518991231001"), BIRTH_DATE),
    ("born tomorrow (Beijing)", with_check(f"110105{TODAY + timedelta(days=1):%Y%m%d}001"), BIRTH_DATE),
    ("born in 2030", with_check("11010520300101001"), BIRTH_DATE),
    ("born in 9999", with_check("11010599990101001"), BIRTH_DATE),
    ("month 00", with_check("11010519900001001"), BIRTH_DATE),
    ("month 13", with_check("11010519901301001"), BIRTH_DATE),
    ("day 00", with_check("11010519900100001"), BIRTH_DATE),
    ("day 32", with_check("11010519900132001"), BIRTH_DATE),
    ("31 April", with_check("11010519900431001"), BIRTH_DATE),
    ("29 February 1900 (not a leap year)", with_check("11010519000229001"), BIRTH_DATE),
    ("29 February 2023", with_check("11010520230229001"), BIRTH_DATE),
    ("province 00", with_check("00010519900101001"), PROVINCE),
    ("province 10", with_check("10010519900101001"), PROVINCE),
    ("province 16", with_check("16010519900101001"), PROVINCE),
    ("province 66", with_check("66010519900101001"), PROVINCE),
    ("province 72", with_check("72000019900101001"), PROVINCE),
    ("province 84", with_check("84000019900101001"), PROVINCE),
    ("province 91 (a foreigner's permanent residence card is another document)", with_check("91000019900101001"), PROVINCE),
    ("province 99", with_check("99999919900101001"), PROVINCE),
    ("a wrong check character", "110105194912310021", CHECKSUM),
    ("a wrong check character X", "11010519491231003X", CHECKSUM),
]


@pytest.mark.parametrize(("case", "number"), VALID, ids=[case for case, _n in VALID])
def test_valid_numbers_are_accepted_as_themselves(case, number):
    assert answer(number) == number
    assert id_number_problem(number) == (number, None)


@pytest.mark.parametrize(("case", "number", "message"), INVALID, ids=[case for case, _n, _m in INVALID])
def test_invalid_numbers_are_refused_with_what_is_wrong(case, number, message):
    assert answer(number) == str(message)
    assert id_number_problem(number) == (None, message)


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        (" 11010519491231002x ", "11010519491231002X"),
        ("\t11010519491231002X\n", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),  # full-width, as an input method types it
        ("\u300011010519491231002X\u3000", "11010519491231002X"),  # ideographic spaces around
    ],
)
def test_spellings_of_one_number_are_folded_to_it(typed, number):
    assert answer(typed) == number


def test_every_province_of_the_region_table_and_only_those_and_83_are_first_two_digits(db):
    from health.models import Region

    provinces = {code[:2] for code in Region.objects.filter(code__endswith="0000").values_list("code", flat=True)}
    assert identity.PROVINCES == provinces | {"83"}


def test_the_birth_date_bound_moves_at_beijing_midnight(monkeypatch):
    # given the clock one second before a Beijing midnight, and a number born on the next day
    midnight = datetime(2026, 6, 2, tzinfo=identity.BEIJING)
    number = with_check("11010520260602001")
    monkeypatch.setattr(identity, "_today", ("", 0.0))
    monkeypatch.setattr(identity.time, "time", lambda: midnight.timestamp() - 1)
    # then it is refused, and accepted from midnight on
    assert answer(number) == str(BIRTH_DATE)
    monkeypatch.setattr(identity.time, "time", lambda: midnight.timestamp())
    assert answer(number) == number


# --- the fast path is the rules ----------------------------------------------------------------
PLACES = ["110105", "110115", "110103", "429004", "810000", "830000", "710000", "000000", "999999", "160000"]
canonical_bodies = st.builds(
    lambda place, year, month, day, serial: f"{place}{year:04d}{month:02d}{day:02d}{serial:03d}",
    st.sampled_from(PLACES),
    st.integers(1890, TODAY.year + 2) | st.sampled_from([1899, 1900, 9999]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 999),
)


@settings(max_examples=1000, deadline=None)
@given(canonical_bodies, st.sampled_from(["valid", "0", "5", "X", "x"]))
def test_the_fast_path_accepts_exactly_what_the_rules_accept(body, last):
    raw = with_check(body) if last == "valid" else body + last
    number, _message = id_number_problem(raw)
    assert identity._canonical_valid(raw) == (number == raw)
    assert answer(raw) == (number if number is not None else str(id_number_problem(raw)[1]))


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789Xx -\t１Ｘ", min_size=0, max_size=22))
def test_any_spelling_gets_the_rules_answer(raw):
    number, message = id_number_problem(raw)
    assert answer(raw) == (number if number is not None else str(message))
    if identity._canonical_valid(raw):
        assert number == raw


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
