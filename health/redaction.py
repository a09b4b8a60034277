"""Identity numbers out of free text (a correction request's message, a read's purpose) before it is stored.

What is taken out (docs/security.md):
- an 18-character resident ID number, or the 15-digit older form, also typed in groups with spaces
  or hyphens (`1101 0519 4912 3100 2X`): any run of digits with at most one space or hyphen between
  them that holds 15 digits or more, whatever stands around it (as a price, two dates written
  `2022-12-01 2022-12-15`);
- any run of 8 or more letters and digits with at least 6 digits: passports, permits for Hong
  Kong, Macao and Taiwan residents, foreign permanent residence cards, other document numbers
  (and, as a price, compact dates such as 20221201);
- except an 11-digit mainland mobile number (1[3-9]…), kept so that the receiver can call back.
Full-width digits and letters count as their ASCII forms.
"""
from __future__ import annotations

import re

REDACTED = "〔证件号已隐去〕"

_ALNUM = r"0-9A-Za-z\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A"
_DIGIT = r"[0-9\uFF10-\uFF19]"
_GAP = r"[ \u3000\-‐‑–—]?"
# Resident ID numbers, possibly typed in groups: 17 digits and a digit or X, or the older 15 digits.
# Digits in groups (a space or a hyphen between them), perhaps ending in X: with 15 digits or more
# it is, or contains, a resident ID number, whatever stands around it.
_DIGIT_GROUPS = re.compile(rf"{_DIGIT}(?:{_GAP}{_DIGIT})*(?:{_GAP}?[XxＸｘ])?")
RESIDENT_ID_DIGITS = 15
_RUN = re.compile(rf"[{_ALNUM}]{{8,}}")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_FULL_WIDTH = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)}, **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
     **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)}}
)


def _looks_like_a_document_number(match: re.Match) -> str:
    run = match.group(0)
    ascii_run = run.translate(_FULL_WIDTH)
    if sum(character.isdigit() for character in ascii_run) < 6 or _MOBILE.fullmatch(ascii_run):
        return run
    return REDACTED


def _holds_a_resident_id(match: re.Match) -> str:
    digits = sum(character.isdigit() for character in match.group(0))
    return REDACTED if digits >= RESIDENT_ID_DIGITS else match.group(0)


def identity_numbers_redact(text: str) -> str:
    """`text` with every identity or document number replaced by a marker; the rest as written."""
    text = _DIGIT_GROUPS.sub(_holds_a_resident_id, text)
    return _RUN.sub(_looks_like_a_document_number, text)
