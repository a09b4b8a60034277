"""Who a person is: the resident ID number (one validator for every entry point, kept only as a keyed
digest and a masked form) and the name in its one normal form."""

import datetime
import hmac
import re
import time
import unicodedata
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

LENGTH = _("身份证号码应为18位。")
FORMAT = _("身份证号码格式不正确：前17位应为数字，末位为数字或X。")
BIRTH_DATE = _("身份证号码中的出生日期无效。")
PROVINCE = _("身份证号码中的地区代码无效。")
CHECKSUM = _("身份证号码校验位不正确。")

# The first two digits: a GB/T 2260 province (the table's 34, Taiwan 71 and Hong Kong 81 and Macao 82
# included), or 83, the residence permits of Taiwan residents (港澳台居民居住证: 81…, 82…, 83…).
# The rest of the place code is not checked: it is the place of first registration, which may be
# years after birth and may have been renamed or merged since (a 110115 大兴区 number of someone born
# in 1995 is valid), so no table of places by year can judge it.
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)
EARLIEST_BIRTH = "19000101"
BEIJING = datetime.timezone(datetime.timedelta(hours=8))

# ISO 7064 MOD 11-2 weights of the 17 digits: 2^(17-i) mod 11.
_WEIGHTS = tuple(pow(2, 17 - position, 11) for position in range(17))
_CHECK = "10X98765432"
# Full-width digits and X, as a Chinese input method in full-width mode types them.
_FULL_WIDTH = str.maketrans({chr(0xFF10 + digit): str(digit) for digit in range(10)} | {"Ｘ": "X", "ｘ": "X"})
_CANONICAL = re.compile(r"[1-8][0-9]{16}[0-9X]")
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")

_today = ("", 0.0)  # (Beijing date as YYYYMMDD, the epoch second at which it ends)


def beijing_today() -> str:
    """Today's Beijing date as YYYYMMDD: a comparison of text with the number's birth date.

    Recomputed once a day (at Beijing midnight), so that the fast path pays one clock read.
    """
    global _today
    now = time.time()
    if now >= _today[1]:
        today = datetime.datetime.fromtimestamp(now, BEIJING).date()
        midnight = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(), BEIJING)
        _today = (today.strftime("%Y%m%d"), midnight.timestamp())
    return _today[0]


@lru_cache(maxsize=65536)
def _real_date(text: str) -> bool:
    """YYYYMMDD names a day of the calendar, from 1900 (memoised: there are ~46,000 such days)."""
    if text < EARLIEST_BIRTH:
        return False
    try:
        datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return False
    return True


def check_character(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return _CHECK[sum(int(digit) * weight for digit, weight in zip(body[:17], _WEIGHTS, strict=True)) % 11]


def id_number_problem(raw: object) -> tuple[str | None, object]:
    """(the canonical number, None) or (None, the message of what is wrong): the rules, spelled out.

    Canonical: surrounding spaces removed, full-width digits and a lower-case x folded. Then, in
    this order: 18 characters; 17 digits and a digit or X; a real birth date, not before 1900 nor
    after today (Beijing); a province code (PROVINCES); the check character.
    """
    text = str(raw).translate(_FULL_WIDTH).strip().upper()
    if len(text) != 18:
        return None, LENGTH
    if not _SHAPE.fullmatch(text):
        return None, FORMAT
    born = text[6:14]
    if not _real_date(born) or born > beijing_today():
        return None, BIRTH_DATE
    if text[:2] not in PROVINCES:
        return None, PROVINCE
    if text[17] != check_character(text):
        return None, CHECKSUM
    return text, None


def _canonical_valid(raw: object) -> bool:
    """A number already in canonical form that passes every check, in ~1 µs.

    The public query and the feeds see mostly such numbers; the same rules as id_number_problem
    (a hypothesis test compares the two), with the check character from an integer in base 13 and
    the dates memoised.
    """
    if type(raw) is not str or not _CANONICAL.fullmatch(raw) or raw[:2] not in PROVINCES:
        return False
    born = raw[6:14]
    if born > beijing_today() or not _real_date(born):
        return False
    checksum = (1 - 2 * int(raw[:17], 13)) % 11
    return raw[17] == ("X" if checksum == 10 else str(checksum))


def id_number_clean(raw: str) -> str:
    """The canonical 18-character number, or ValidationError (the message never repeats the number)."""
    if _canonical_valid(raw):
        return raw
    number, message = id_number_problem(raw)
    if number is None:
        raise ValidationError(message, code="invalid_id_number")
    return number


def id_number_digest(number: str) -> str:
    """HMAC-SHA256 of the canonical number with PERSON_ID_HASH_KEY: stable, not reversible without the key."""
    # The one-shot hmac.digest: the same value as hmac.new(...).hexdigest(), several times faster.
    return hmac.digest(settings.PERSON_ID_HASH_KEY.encode(), number.encode(), "sha256").hex()


def id_number_mask(number: str) -> str:
    """110105********002X: region and the last four, as the API contract shows."""
    return number[:6] + "*" * 8 + number[-4:]


def id_number_digest_or_none(raw: str) -> str | None:
    """For searches: the digest of what was typed if it is a valid number, else None."""
    try:
        return id_number_digest(id_number_clean(raw))
    except ValidationError:
        return None


def name_normalise(name: str) -> str:
    """A name in the one form it is stored and compared in: Unicode NFC, whitespace folded.

    NFC, so that "Zoë" typed precomposed (U+00EB) and decomposed (e + U+0308) is one name; every run
    of whitespace (ideographic spaces, tabs, line breaks included) becomes one space, and none is
    kept at either end. Nothing else changes: case and the middle dot of 阿依古丽·买买提 are the name.
    """
    return " ".join(unicodedata.normalize("NFC", str(name)).split())


# Longer input is refused before it is validated (a field's bound, not a rule of the number).
ID_NUMBER_INPUT_MAX = 32
NOT_A_STRING = _("身份证号码应以字符串提交。")


def id_number_input_clean(raw: object) -> str:
    """An `id_number` as a client sent it (any JSON value) -> the canonical number, or ValidationError.

    The one cleaning the API's fields, the public per-number throttle and the lookups share, so that the
    throttle counts exactly the numbers that are accepted. Only a string is an ID number (a JSON number
    would be accepted by a text field as its digits, but never counted under them); it is trimmed as
    every text field is (Unicode spaces such as U+1680 included), then validated by `id_number_clean`.
    """
    if type(raw) is not str:
        raise ValidationError(NOT_A_STRING, code="invalid_id_number")
    value = raw.strip()
    if len(value) > ID_NUMBER_INPUT_MAX:
        raise ValidationError(LENGTH, code="invalid_id_number")
    return id_number_clean(value)
