"""Input and output serializers of the entrants API, one input per operation; the feed reuses the create input."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from entrants.countries import country_clean, country_name
from entrants.models import InboundCase
from entrants.services import case_dates_errors
from health.api.common import (
    DocumentOutput,
    PastDateField,
    PastDateTimeField,
    PersonSerializer,
    StatusSerializer,
    status_payload,
)
from health.models import Organisation


def _check_after_entry(entered_country_on, quarantine_ended_at, entered_city_on) -> None:
    errors = case_dates_errors(
        entered_country_on=entered_country_on, quarantine_ended_at=quarantine_ended_at, entered_city_on=entered_city_on
    )
    if errors:
        raise serializers.ValidationError(errors)


class CommunityCodeField(serializers.CharField):
    """An existing community's code; blank or null = none. Looked up in context["communities"] when given."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("label", _("管理社区编码"))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        code = super().to_internal_value(data).strip()
        if not code:
            return None
        # The field's own checks (length, no NUL, no lone surrogate) before the code is looked up:
        # PostgreSQL refuses a NUL in a query (a 500).
        self.run_validators(code)
        known = self.context.get("communities")
        exists = (
            code in known
            if known is not None
            else Organisation.objects.filter(kind=Organisation.Kind.COMMUNITY, code=code).exists()
        )
        if not exists:
            raise serializers.ValidationError(_("未知的社区编码。"))
        return code


class OriginCountryField(serializers.CharField):
    def to_internal_value(self, data):
        try:
            return country_clean(super().to_internal_value(data))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class InboundCaseCreateInput(serializers.Serializer):
    person = PersonSerializer(label=_("人员"))
    entered_country_on = PastDateField(label=_("入境日期"))
    port = serializers.CharField(max_length=64, label=_("入境口岸"))
    origin_country = OriginCountryField(max_length=8, label=_("出发国家或地区"))
    community_code = CommunityCodeField()
    quarantine_ended_at = PastDateTimeField(required=False, allow_null=True, label=_("集中隔离结束时间"))
    entered_city_on = PastDateField(required=False, allow_null=True, label=_("进京日期"))

    def validate(self, attrs):
        _check_after_entry(attrs["entered_country_on"], attrs.get("quarantine_ended_at"), attrs.get("entered_city_on"))
        return attrs


class InboundCaseUpdateInput(serializers.Serializer):
    quarantine_ended_at = PastDateTimeField(required=False, allow_null=True, label=_("集中隔离结束时间"))
    entered_city_on = PastDateField(required=False, allow_null=True, label=_("进京日期"))
    community_code = CommunityCodeField()

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(_("请至少提供一个要修改的字段。"))
        case = self.context["case"]
        merged = {
            "quarantine_ended_at": attrs.get("quarantine_ended_at", case.quarantine_ended_at),
            "entered_city_on": attrs.get("entered_city_on", case.entered_city_on),
        }
        _check_after_entry(case.entered_country_on, **merged)
        return attrs


class InboundReleaseInput(serializers.Serializer):
    released_at = PastDateTimeField(required=False, allow_null=True, label=_("解除观察时间"))


class PersonOutput(DocumentOutput):
    name = serializers.CharField()
    id_masked = serializers.CharField()


class InboundCaseOutput(serializers.ModelSerializer):
    person = PersonOutput()
    port = serializers.CharField(source="port_of_entry")
    origin_country_name = serializers.SerializerMethodField()
    community_code = serializers.CharField(source="managing_community.code", allow_null=True, default=None)
    border_code = serializers.CharField(source="border.code")
    released_by = serializers.CharField(source="released_by.get_username", allow_null=True, default=None)
    person_status = serializers.SerializerMethodField()

    class Meta:
        model = InboundCase
        fields = [
            "id",
            "person",
            "entered_country_on",
            "port",
            "origin_country",
            "origin_country_name",
            "community_code",
            "border_code",
            "quarantine_ended_at",
            "entered_city_on",
            "released_at",
            "released_by",
            "created_at",
            "updated_at",
            "person_status",
        ]

    @extend_schema_field(serializers.CharField())
    def get_origin_country_name(self, case: InboundCase) -> str:
        return country_name(case.origin_country)

    @extend_schema_field(StatusSerializer)
    def get_person_status(self, case: InboundCase) -> dict | None:
        # Read by the view through the audited read (health.status_reads), never here.
        shown = self.context.get("status")
        return status_payload(shown) if shown is not None else None
