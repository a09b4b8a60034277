"""Resident ID numbers: validated with python-stdnum, kept only as a keyed digest and a masked form."""
import hashlib
import hmac

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength
from stdnum.exceptions import ValidationError as StdnumError

MESSAGES = {
    InvalidLength: _("身份证号码应为18位。"),
    InvalidChecksum: _("身份证号码校验位不正确。"),
    InvalidComponent: _("身份证号码中的出生日期或地区代码无效。"),
}


def id_number_clean(raw: str) -> str:
    """The canonical 18-character number, or ValidationError (the message never repeats the number)."""
    try:
        return ric.validate(str(raw))
    except StdnumError as error:
        message = MESSAGES.get(type(error), _("身份证号码格式不正确。"))
        raise ValidationError(message, code="invalid_id_number") from None


def id_number_digest(number: str) -> str:
    """HMAC-SHA256 of the canonical number with PERSON_ID_HASH_KEY: stable, not reversible without the key."""
    key = settings.PERSON_ID_HASH_KEY.encode()
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def id_number_mask(number: str) -> str:
    """110105********002X: region and the last four, as the API contract shows."""
    return number[:6] + "*" * 8 + number[-4:]


def id_number_digest_or_none(raw: str) -> str | None:
    """For searches: the digest of what was typed if it is a valid number, else None."""
    try:
        return id_number_digest(id_number_clean(raw))
    except ValidationError:
        return None
