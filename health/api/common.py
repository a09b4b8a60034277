"""What every app's API shares: the inline person, time fields with the contract's bounds,
the status answer, and the organisation scoping of staff (404 for another's, 403 for a kind)."""
from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import permissions, serializers

from health import timebounds
from health.errors import NotAllowed, NotVisible
from health.identity import (
    DOCUMENT_NUMBER_INPUT_MAX,
    ID_NUMBER_INPUT_MAX,
    DocumentType,
    document_clean,
    id_number_input_clean,
)
from health.models import HealthStatus, Organisation
from health.selectors import user_is_admin, user_organisation
from health.timebounds import CLOCK_SKEW, EARLIEST, PLANNING_HORIZON  # noqa: F401 - re-exported

from .throttling import id_number_checked


class IdNumberField(serializers.CharField):
    """A resident ID number: a JSON string only, cleaned by `id_number_input_clean`, never echoed.

    Within a public request the value is cleaned once and shared with the per-number throttles
    (`id_number_checked`): what this field accepts is exactly what they count.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("身份证号"))
        super().__init__(max_length=ID_NUMBER_INPUT_MAX, write_only=True, **kwargs)

    def to_internal_value(self, data):
        request = self.context.get("request")
        # Shared with the public throttle, which has cleaned the request's number already; a staff feed's
        # thousands of numbers are not kept on the request (nor digested here).
        if request is not None and getattr(request, "_id_numbers_checked", None) is not None:
            checked = id_number_checked(request, data)
            if checked.error is not None:
                raise serializers.ValidationError(checked.error.messages)
            return checked.number
        try:
            return id_number_input_clean(data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class DocumentFields(serializers.Serializer):
    """The document of a person (api.md, "A person in a request"): `id_number`, or `document_type`,
    `document_number`, `nationality` where it applies and an optional `birth_date`.

    Validated by the one validator (health.identity.document_clean). A resident ID, sent either way,
    comes out as `id_number` (the canonical number, exactly as before); another document comes out
    as `id_number` holding its health.identity.Document, which every service takes in its place.
    """

    id_number = IdNumberField(required=False)
    document_type = serializers.CharField(required=False, write_only=True, max_length=32, label=_("证件类型"))
    document_number = serializers.CharField(
        required=False, write_only=True, max_length=DOCUMENT_NUMBER_INPUT_MAX, label=_("证件号码")
    )
    nationality = serializers.CharField(required=False, write_only=True, max_length=8, label=_("国籍"))
    birth_date = serializers.DateField(required=False, write_only=True, allow_null=True, label=_("出生日期"))

    def validate(self, attrs):
        kind = attrs.pop("document_type", None)
        number = attrs.pop("document_number", None)
        nationality = attrs.pop("nationality", None)
        birth_date = attrs.pop("birth_date", None)
        if kind in (None, DocumentType.RESIDENT_ID) and number is None:
            if "id_number" not in attrs:
                raise serializers.ValidationError({"id_number": [self.fields["id_number"].error_messages["required"]]})
            return attrs
        try:
            attrs["id_number"] = document_input(kind, number, nationality, birth_date, request=self.context.get("request"))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return attrs


def document_input(kind, number, nationality, birth_date, *, request=None):
    """A document from the API's fields: a resident ID as its canonical number (through the public
    throttles' shared cleaning on a public request), any other as a Document."""
    document = document_clean(kind, number=number, nationality=nationality, birth_date=birth_date)
    if document.document_type == DocumentType.RESIDENT_ID:
        return document.number
    return document


class PersonSerializer(DocumentFields):
    """`{"name": "张三", "id_number": "11010519491231002X"}` or `{"name", "document_type",
    "document_number", "nationality"?, "birth_date"?}`; the number is validated, never echoed."""

    name = serializers.CharField(max_length=64, label=_("姓名"))


class DocumentOutput(serializers.Serializer):
    """A person as a record's answer names them: the name and the masked number; for a document other
    than the resident ID also its type and issuing state (a resident's answer is as it always was)."""

    name = serializers.CharField()
    id_masked = serializers.CharField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        kind = getattr(instance, "document_type", DocumentType.RESIDENT_ID)
        if kind != DocumentType.RESIDENT_ID:
            data["document_type"] = kind
            data["nationality"] = instance.nationality
        return data


class PastDateTimeField(serializers.DateTimeField):
    """A time of something that has happened: not in the future (beyond clock skew), not before 2019-12."""

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if errors := timebounds.past_time_errors(moment):
            raise serializers.ValidationError(errors)
        return moment


class PlannedDateTimeField(serializers.DateTimeField):
    """A planned time (an end, a clearance): may lie ahead, within a few years."""

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if errors := timebounds.planned_time_errors(moment):
            raise serializers.ValidationError(errors)
        return moment


class PastDateField(serializers.DateField):
    """A calendar date (Beijing) of something that has happened."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if errors := timebounds.past_date_errors(day):
            raise serializers.ValidationError(errors)
        return day


def ensure_order(start: datetime | date | None, end: datetime | date | None, *, field: str, message=None) -> None:
    """An end before its start is a 400 on the end's field."""
    if start is not None and end is not None and end < start:
        raise serializers.ValidationError({field: [message or _("结束时间不能早于开始时间。")]})


class RegionCodeField(serializers.RegexField):
    """A 6-digit GB/T 2260 code; with `current=True` it must also name a current region (else a 400 here).

    Feeds that carry thousands of codes pass current=False and check them in one query instead.
    """

    def __init__(self, *, current: bool = True, **kwargs) -> None:
        self.current = current
        kwargs.setdefault("label", _("区划代码"))
        kwargs.setdefault("error_messages", {"invalid": _("区划代码应为6位数字。")})
        super().__init__(r"^\d{6}$", max_length=6, **kwargs)

    def run_validation(self, data=serializers.empty):
        from health.services.organisations import region_current

        # The format (the regex validator) is checked first: only six digits ever reach the database.
        code = super().run_validation(data)
        if self.current and code and region_current(code) is None:
            raise serializers.ValidationError(_("未知的区划代码。"))
        return code


class OrganisationInput(serializers.Serializer):
    """A new community or hotel: `{code, name, region_code}` (the service checks the region and the
    code's uniqueness together, so that every error is answered at once)."""

    code = serializers.CharField(max_length=32, label=_("编码"))
    name = serializers.CharField(max_length=128, label=_("名称"))
    region_code = RegionCodeField(current=False, label=_("所在区划"))


class OrganisationOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    code = serializers.CharField()
    name = serializers.CharField()
    region_code = serializers.CharField(source="region_id")


class StatusSerializer(serializers.Serializer):
    """The status answer of the API contract."""

    status = serializers.CharField()
    label = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    valid_until = serializers.DateTimeField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)


def status_payload(health_status: HealthStatus) -> dict:
    return {
        "status": health_status.status,
        "label": str(HealthStatus.Code(health_status.status).label),
        "reasons": list(health_status.reasons),
        "valid_until": health_status.valid_until,
        "computed_at": health_status.computed_at,
    }


# --- who may do what -----------------------------------------------------------------------
class IsStaff(permissions.BasePermission):
    """An authenticated account that acts for an organisation, or an administrator."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user_is_admin(user) or user_organisation(user)))


def require_kind(user, *kinds: str) -> Organisation | None:
    """The caller's organisation if its kind may act here (None for an administrator); else 403."""
    if user_is_admin(user):
        return None
    organisation = user_organisation(user)
    if organisation is None or organisation.kind not in kinds:
        raise NotAllowed()
    return organisation


def organisation_scoped(user, *, kind: str, code: str) -> Organisation:
    """The organisation `kind`/`code` if the caller acts for it (or is an administrator).

    Another kind of organisation may not take this action (403); another organisation of
    the same kind, or one that does not exist, is not found (404) so nothing leaks.
    """
    own = require_kind(user, kind)
    if own is not None:
        if own.code != code:
            raise NotVisible()
        return own
    try:
        return Organisation.objects.get(kind=kind, code=code)
    except Organisation.DoesNotExist:
        raise NotVisible() from None


def object_scoped(user, obj, *, organisation_id: int | None, kind: str):
    """An object owned by `organisation_id`, if the caller may see it; 403 for another kind, 404 for another owner."""
    own = require_kind(user, kind)
    if own is not None and own.pk != organisation_id:
        raise NotVisible()
    return obj


class BoundedListField(serializers.ListField):
    """A list whose length is checked before its items: an oversized request fails at once, cheaply.

    Item errors are keyed by the item's index (`{"stays": {"3": {...}}}`), as ListField does.
    """

    def to_internal_value(self, data):
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)
