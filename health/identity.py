"""Who a person is: the resident ID number (one validator for every entry point, kept only as a keyed
digest and a masked form) and the name in its one normal form."""

import datetime
import hmac
import re
import time
import unicodedata
from dataclasses import dataclass, field
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


# --- identity documents beyond the resident ID card ----------------------------------------------
# api.md, "A person in a request". A person is keyed by the keyed digest of (document type, issuing
# state where it applies, the number folded); the resident ID's digest is the number's alone, as it
# always was, so every stored person and every existing client keep their key.
class DocumentType:
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    HK_MACAO_PERMIT = "hk_macao_permit"
    TAIWAN_PERMIT = "taiwan_permit"
    FOREIGN_PERMANENT_RESIDENCE = "foreign_permanent_residence"


DOCUMENT_TYPES = {
    DocumentType.RESIDENT_ID: _("居民身份证"),
    DocumentType.PASSPORT: _("护照"),
    DocumentType.HK_MACAO_PERMIT: _("港澳居民来往内地通行证"),
    DocumentType.TAIWAN_PERMIT: _("台湾居民来往大陆通行证"),
    DocumentType.FOREIGN_PERMANENT_RESIDENCE: _("外国人永久居留身份证"),
}
# The documents whose issuing state is part of the person's key (a passport number is unique only
# within its state). The permanent residence card names a nationality too, but its number is issued
# by China and unique without it: a nationality typed wrongly must not make a second person.
KEYED_BY_STATE = frozenset({DocumentType.PASSPORT})
NEEDS_NATIONALITY = frozenset({DocumentType.PASSPORT, DocumentType.FOREIGN_PERMANENT_RESIDENCE})

UNKNOWN_TYPE = _("未知的证件类型。")
NATIONALITY_REQUIRED = _("请填写国籍（ISO 3166-1 三位字母代码，如 GBR）。")
NATIONALITY_UNKNOWN = _("未知的国籍（应为 ISO 3166-1 三位字母代码，如 GBR）。")
NUMBER_REQUIRED = _("请填写证件号码。")
BIRTH_DATE_INVALID = _("出生日期无效。")
SHAPE = {
    DocumentType.PASSPORT: _("护照号码应为5至20位字母或数字。"),
    DocumentType.HK_MACAO_PERMIT: _("港澳居民来往内地通行证号码应为 H 或 M 加 8 位或 10 位数字。"),
    DocumentType.TAIWAN_PERMIT: _("台湾居民来往大陆通行证号码应为8位数字，或旧版的10位字符。"),
    DocumentType.FOREIGN_PERMANENT_RESIDENCE: _(
        "外国人永久居留身份证号码应为15位（3位字母加12位数字），或以9开头的18位。"
    ),
}
FPR_CHECKSUM = _("外国人永久居留身份证号码校验位不正确。")
FPR_BIRTH_DATE = _("外国人永久居留身份证号码中的出生日期无效。")
DOCUMENT_NUMBER_INPUT_MAX = 32

_NUMBER_SHAPES = {
    DocumentType.PASSPORT: re.compile(r"[A-Z0-9]{5,20}"),
    DocumentType.HK_MACAO_PERMIT: re.compile(r"[HM][0-9]{8}(?:[0-9]{2})?"),
    DocumentType.TAIWAN_PERMIT: re.compile(r"[0-9]{8}|[0-9]{8}[0-9A-Z]{2}"),
    DocumentType.FOREIGN_PERMANENT_RESIDENCE: re.compile(r"[A-Z]{3}[0-9]{12}|9[0-9]{16}[0-9X]"),
}
# ICAO 9303 codes that are not ISO 3166-1 alpha-3, read as the ISO state they stand for.
_ICAO_ALIASES = {"D": "DEU", "GBD": "GBR", "GBN": "GBR", "GBO": "GBR", "GBP": "GBR", "GBS": "GBR"}
_FOLD = str.maketrans({chr(0xFF01 + offset): chr(0x21 + offset) for offset in range(94)})


@dataclass(frozen=True)
class Document:
    """A validated identity document: what a person is keyed and shown by. Never holds more than needed:
    `number` is the folded number (for the digest only; never stored, logged or returned)."""

    document_type: str
    number: str = field(repr=False)
    nationality: str = ""
    birth_date: datetime.date | None = None

    @property
    def digest(self) -> str:
        if self.document_type == DocumentType.RESIDENT_ID:
            return id_number_digest(self.number)
        state = self.nationality if self.document_type in KEYED_BY_STATE else ""
        return id_number_digest(f"{self.document_type}\x1f{state}\x1f{self.number}")

    @property
    def masked(self) -> str:
        if self.document_type == DocumentType.RESIDENT_ID:
            return id_number_mask(self.number)
        return document_mask(self.number)

    @property
    def label(self) -> str:
        return str(DOCUMENT_TYPES[self.document_type])


def document_mask(number: str) -> str:
    """G1******89: the first and the last two characters (api.md), stars between."""
    keep = 2 if len(number) > 6 else 1
    return number[:keep] + "*" * (len(number) - 2 * keep) + number[-keep:]


def nationality_clean(raw: object) -> str:
    """ISO 3166-1 alpha-3 (upper case; ICAO codes such as D read as their ISO form), or ValidationError."""
    code = str(raw or "").translate(_FOLD).strip().upper()
    code = _ICAO_ALIASES.get(code, code)
    if not code:
        raise ValidationError(NATIONALITY_REQUIRED, code="nationality_required")
    if len(code) != 3 or not code.isalpha() or _country_alpha3(code) is None:
        raise ValidationError(NATIONALITY_UNKNOWN, code="unknown_nationality")
    return code


@lru_cache(maxsize=512)
def _country_alpha3(code: str):
    import pycountry

    return pycountry.countries.get(alpha_3=code)


def _birth_date(text: str) -> datetime.date | None:
    if not _real_date(text) or text > beijing_today():
        return None
    return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def document_clean(
    document_type: object = None,
    *,
    number: object = None,
    nationality: object = None,
    birth_date: datetime.date | None = None,
) -> Document:
    """The one validator of every document, for the API, the admin, the feeds and the public endpoints.

    Raises ValidationError({field: [message]}) with the fields of api.md (`document_type`,
    `document_number`, `nationality`, `birth_date`); no message repeats the number. A resident ID
    goes through `id_number_input_clean` exactly as `id_number` always has; the birth date comes from
    the number where the number holds one (resident ID, the 18-character permanent residence card),
    else from `birth_date` if given.
    """
    kind = str(document_type or DocumentType.RESIDENT_ID).strip()
    if kind not in DOCUMENT_TYPES:
        raise ValidationError({"document_type": [UNKNOWN_TYPE]})
    if number is None or (type(number) is str and not number.strip()):
        raise ValidationError({"document_number": [NUMBER_REQUIRED]})
    if kind == DocumentType.RESIDENT_ID:
        try:
            canonical = id_number_input_clean(number)
        except ValidationError as error:
            raise ValidationError({"document_number": error.messages}) from None
        return Document(kind, canonical, "", _birth_date(canonical[6:14]))
    if type(number) is not str or len(number.strip()) > DOCUMENT_NUMBER_INPUT_MAX:
        raise ValidationError({"document_number": [SHAPE[kind]]})
    folded = "".join(number.translate(_FOLD).split()).upper()
    errors: dict[str, list] = {}
    state = ""
    if kind in NEEDS_NATIONALITY:
        try:
            state = nationality_clean(nationality)
        except ValidationError as error:
            errors["nationality"] = error.messages
    if not _NUMBER_SHAPES[kind].fullmatch(folded):
        errors["document_number"] = [SHAPE[kind]]
    elif kind == DocumentType.FOREIGN_PERMANENT_RESIDENCE and len(folded) == 18:
        from stdnum.iso7064 import mod_11_2

        if _birth_date(folded[6:14]) is None:
            errors["document_number"] = [FPR_BIRTH_DATE]
        elif not mod_11_2.is_valid(folded):
            errors["document_number"] = [FPR_CHECKSUM]
        else:
            birth_date = _birth_date(folded[6:14])
    if birth_date is not None and (
        not isinstance(birth_date, datetime.date) or birth_date.strftime("%Y%m%d") > beijing_today()
        or birth_date.year < 1900
    ):
        errors["birth_date"] = [BIRTH_DATE_INVALID]
    if errors:
        raise ValidationError(errors)
    return Document(kind, folded, state, birth_date)


def document_of(value: "str | Document") -> Document:
    """A Document as it is; a resident ID number (as `id_number` always carried it) made one."""
    if isinstance(value, Document):
        return value
    number = id_number_clean(value)
    return Document(DocumentType.RESIDENT_ID, number, "", _birth_date(number[6:14]))


def digest_or_none(value: "str | Document | None") -> str | None:
    """For searches: the digest of a Document, or of what was typed if it is a valid ID number, else None."""
    if isinstance(value, Document):
        return value.digest
    return id_number_digest_or_none(value) if value else None


def name_key(name: str) -> str:
    """The form two names are compared in: the normal form, case folded (Latin names: `John SMITH` is
    `JOHN  smith`); Chinese names are unchanged by it."""
    return name_normalise(name).casefold()


def document_label(person_or_type: object, nationality: str = "") -> str:
    """`护照 GBR`, `居民身份证`: the document a person is keyed by (a Person, or a document type and state)."""
    if isinstance(person_or_type, str):
        kind = person_or_type
    else:
        kind = getattr(person_or_type, "document_type", "")
        nationality = getattr(person_or_type, "nationality", "")
    kind = kind or DocumentType.RESIDENT_ID
    label = str(DOCUMENT_TYPES.get(kind, kind))
    return f"{label} {nationality}" if nationality else label


# --- a number typed into a staff search box --------------------------------------------------------
@lru_cache(maxsize=1)
def _states() -> tuple[str, ...]:
    """Every ISO 3166-1 alpha-3 state (pycountry): the states a passport number may be of."""
    import pycountry

    return tuple(sorted(country.alpha_3 for country in pycountry.countries))


def document_digests(term: str) -> list[str]:
    """The digests a number typed without its type could have: as a resident ID, each permit, the
    permanent residence card, and a passport of every ISO state (~250 HMACs, well under a millisecond).

    Empty for a term without a digit (a name: a number is searched by its digests only when it holds
    one) and for one no document's rules accept. The resident ID's digest comes first.
    """
    if not any(character.isdigit() for character in term) or len(term) > DOCUMENT_NUMBER_INPUT_MAX:
        return []
    digests = []
    for kind in DOCUMENT_TYPES:
        try:
            document = document_clean(kind, number=term, nationality=_states()[0])
        except ValidationError:
            continue
        if kind in KEYED_BY_STATE:
            digests += [Document(kind, document.number, state).digest for state in _states()]
        else:
            digests.append(document.digest)
    return digests
