"""Identity numbers out of free text: a table of what goes and what stays, and hypothesis properties."""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from health.redaction import REDACTED, identity_numbers_redact

CASES = [
    # (written, stored)
    ("我的身份证号是11010519491231002X，一直弹窗", f"我的身份证号是{REDACTED}，一直弹窗"),
    ("号码 1101 0519 4912 3100 2x 错了", f"号码 {REDACTED} 错了"),
    ("110105-19491231-002X", REDACTED),
    ("１１０１０５１９４９１２３１００２Ｘ", REDACTED),  # full width
    ("老号码110105491231002", f"老号码{REDACTED}"),  # the 15-digit older form
    ("11010519491231002", REDACTED),  # 17 digits, the check character left out
    ("护照E12345678", f"护照{REDACTED}"),
    ("港澳通行证H1234567890", f"港澳通行证{REDACTED}"),
    ("台胞证12345678", f"台胞证{REDACTED}"),
    ("永居证ABC123456789012", f"永居证{REDACTED}"),
    ("G1234567", REDACTED),  # 8 characters, 7 digits: the shortest run taken
    # kept
    ("请回电13812345678", "请回电13812345678"),  # a mainland mobile number
    ("12月1日已解除隔离", "12月1日已解除隔离"),
    ("2022-12-01解除", "2022-12-01解除"),
    ("区划110105", "区划110105"),  # six digits
    ("ABCDEFGHIJ", "ABCDEFGHIJ"),  # letters only
    ("X12345", "X12345"),  # too short to tell from a room or a flight number
    ("", ""),
]


@pytest.mark.parametrize(("written", "stored"), CASES)
def test_what_is_taken_out_and_what_stays(written, stored):
    assert identity_numbers_redact(written) == stored


def resident_ids():
    body = st.tuples(
        st.sampled_from(["110105", "120101", "310104", "440305", "810000", "820000", "830000"]),
        st.dates().filter(lambda d: 1900 <= d.year <= 2023).map(lambda d: d.strftime("%Y%m%d")),
        st.integers(0, 999).map(lambda n: f"{n:03d}"),
    ).map("".join)
    return body.map(lambda b: b + ric.calc_check_digit(b + "0"))


def spelled(number: str, style: str) -> str:
    if style == "plain":
        return number
    if style == "lower":
        return number.lower()
    if style == "fours":
        return " ".join(number[i:i + 4] for i in range(0, 18, 4))
    if style == "hyphens":
        return f"{number[:6]}-{number[6:14]}-{number[14:]}"
    return number.translate({ord(c): 0xFF10 + int(c) for c in "0123456789"} | {ord("X"): "Ｘ"})


# Around the number: Chinese, punctuation, spaces, hyphens, ASCII letters and digits (which merge with it).
TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(list("我的身份证号是一直弹窗，。！请核实 -:：")), st.characters(min_codepoint=0x30, max_codepoint=0x7A)),
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(number=resident_ids(), style=st.sampled_from(["plain", "lower", "fours", "hyphens", "fullwidth"]), before=TEXT, after=TEXT)
def test_no_resident_id_number_survives_in_any_spelling_or_surrounding(number, style, before, after):
    stored = identity_numbers_redact(before + spelled(number, style) + after)
    digits = re.sub(r"\D", "", stored.translate({0xFF10 + i: str(i) for i in range(10)}))
    # no run of the number's digits long enough to give it away (its birth date and serial) is left
    assert number[6:17] not in digits
    assert number[:17] not in digits


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("我的状态有误请核实，。 ")), max_size=60))
def test_text_without_numbers_is_stored_as_written(text):
    assert identity_numbers_redact(text) == text
