"""Property tests of the resident ID number: what is accepted, what any typo does, digests and masks."""
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from health.identity import (
    id_number_clean,
    id_number_digest,
    id_number_digest_or_none,
    id_number_mask,
    id_number_problem,
)

REGIONS = ["110105", "110108", "110101", "120101", "310104"]  # valid for every birth year drawn here
CHARACTERS = "0123456789X"


@st.composite
def id_numbers(draw) -> str:
    region = draw(st.sampled_from(REGIONS))
    born = draw(st.dates(min_value=date(1950, 1, 1), max_value=date.today() - timedelta(days=1)))
    serial = draw(st.integers(min_value=0, max_value=999))
    body = f"{region}{born:%Y%m%d}{serial:03d}"
    return body + ric.calc_check_digit(body + "0")


def rejected(raw: str) -> bool:
    try:
        id_number_clean(raw)
    except ValidationError:
        return True
    return False


@given(id_numbers())
def test_every_valid_number_is_accepted_as_itself(number):
    assert id_number_clean(number) == number


@given(id_numbers(), st.sampled_from(["", " "]), st.booleans())
def test_spacing_and_a_lower_case_x_are_the_same_number(number, pad, lower):
    typed = pad + (number.lower() if lower else number) + pad
    assert id_number_clean(typed) == number
    assert id_number_digest(id_number_clean(typed)) == id_number_digest(number)


@given(id_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from(CHARACTERS))
def test_any_single_character_change_is_rejected(number, position, character):
    # ISO 7064 MOD 11-2 weighs every position with a non-zero weight modulo the prime 11: a single
    # substitution always changes the checksum, so it is never "still valid" by chance.
    changed = number[:position] + character + number[position + 1 :]
    if changed == number:
        return
    assert rejected(changed)


@given(id_numbers(), st.integers(min_value=0, max_value=16))
def test_swapping_two_neighbouring_characters_is_rejected(number, position):
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    if swapped == number:
        return
    assert rejected(swapped)


@given(id_numbers(), id_numbers())
def test_digests_are_stable_distinct_and_reveal_nothing(first, second):
    digest = id_number_digest(first)
    assert digest == id_number_digest(first)
    assert len(digest) == 64 and set(digest) <= set("0123456789abcdef")
    assert (digest == id_number_digest(second)) == (first == second)
    assert first not in digest and first[6:14] not in digest


def test_the_digest_depends_on_the_secret_key(settings):
    number = "11010519491231002X"
    before = id_number_digest(number)
    settings.PERSON_ID_HASH_KEY = "another-key"
    assert id_number_digest(number) != before


@given(id_numbers())
def test_the_mask_keeps_region_and_last_four_and_never_the_birth_date(number):
    masked = id_number_mask(number)
    assert masked == number[:6] + "********" + number[-4:]
    assert number[6:14] not in masked


@given(id_numbers(), id_numbers())
def test_numbers_that_differ_only_in_the_middle_have_the_same_mask(first, second):
    if first[:6] == second[:6] and first[-4:] == second[-4:]:
        assert id_number_mask(first) == id_number_mask(second)


@settings(max_examples=300)
@given(st.text(max_size=40) | st.text(alphabet=CHARACTERS + " x-", min_size=15, max_size=20))
def test_any_text_is_either_a_valid_number_or_a_validation_error_that_does_not_repeat_it(raw):
    try:
        cleaned = id_number_clean(raw)
    except ValidationError as error:
        assert id_number_digest_or_none(raw) is None
        if len(raw.strip()) >= 4:
            assert all(raw.strip() not in str(message) for message in error.messages)
    else:
        assert id_number_problem(cleaned) == (cleaned, None) and len(cleaned) == 18


@pytest.mark.parametrize("raw", ["1" * 100_000, "\x00" * 18, "１１０１０５１９４９１２３１００２９"])
def test_hostile_input_is_rejected_quickly(raw):
    assert id_number_digest_or_none(raw) is None
