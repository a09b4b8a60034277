"""Input and output serializers of the core app's endpoints, one pair per operation."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from health.models import (
    WITHDRAWAL_REASON_MAX,
    Designation,
    HealthStatus,
    Person,
    PersonNameCorrection,
    RiskArea,
    StatusEvent,
)
from health.selectors import client_marker, region_codes_unknown
from health.services.designations import CLEARED_BEFORE_DESIGNATED
from health.services.itinerary import DECLARATION_REGIONS_MAX, STAYS_MAX

from .common import (
    BoundedListField,
    DocumentFields,
    PastDateTimeField,
    PersonSerializer,
    PlannedDateTimeField,
    RegionCodeField,
    StatusSerializer,
    ensure_order,
)

UNKNOWN_REGION = _("未知的区划代码。")


# Named enum components: other apps have "kind" and "level" fields with other choices.
@extend_schema_field({"type": "string", "enum": list(Designation.Kind.values)}, component_name="DesignationKind")
class DesignationKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Designation.Kind.choices, label=_("类别"), **kwargs)


@extend_schema_field({"type": "string", "enum": list(RiskArea.Level.values)}, component_name="RiskLevel")
class RiskLevelField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=RiskArea.Level.choices, label=_("风险等级"), **kwargs)


class MaskedPersonSerializer(serializers.ModelSerializer):
    """A person as staff may see them: the masked number only."""

    id_masked = serializers.CharField(read_only=True, label=_("证件号码（掩码）"))
    document_type = serializers.CharField(read_only=True, label=_("证件类型"))
    nationality = serializers.CharField(read_only=True, label=_("国籍"))

    class Meta:
        model = Person
        fields = ["id", "name", "id_masked", "document_type", "nationality"]

    def to_representation(self, instance):
        # A resident ID person is answered exactly as before documents existed; any other document
        # is named (its type, and the issuing state where it has one).
        data = super().to_representation(instance)
        if data.get("document_type") in (None, "resident_id"):
            data.pop("document_type", None)
            data.pop("nationality", None)
        return data


class TokenInputSerializer(serializers.Serializer):
    """`{username, password, otp_token?}`: the password checked through the authentication backends (lockout first)."""

    username = serializers.CharField(max_length=150, label=_("用户名"))
    password = serializers.CharField(max_length=128, label=_("密码"), style={"input_type": "password"}, trim_whitespace=False)
    otp_token = serializers.CharField(
        max_length=16, required=False, allow_blank=True, default="", label=_("动态验证码"),
        help_text=_("绑定了动态验证码设备的账号必填：验证器应用当前显示的6位数字。"),
    )

    def validate(self, attrs):
        from django.contrib.auth import authenticate

        user = authenticate(
            request=self.context.get("request"), username=attrs["username"], password=attrs["password"]
        )
        if user is None or not user.is_active:
            raise serializers.ValidationError(_("无法使用提供的凭据登录。"), code="authorization")
        attrs["user"] = user
        return attrs


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(label=_("令牌"))
    expiry = serializers.DateTimeField(label=_("失效时间"))


# --- risk areas --------------------------------------------------------------------------------
class RiskAreaCreateInputSerializer(serializers.Serializer):
    region_code = RegionCodeField(current=False)
    level = RiskLevelField()
    effective_from = PlannedDateTimeField(label=_("生效时间"))
    effective_to = PlannedDateTimeField(required=False, allow_null=True, default=None, label=_("解除时间"))

    def validate_region_code(self, value: str) -> str:
        if region_codes_unknown([value]):
            raise serializers.ValidationError(UNKNOWN_REGION)
        return value

    def validate(self, attrs):
        if attrs["effective_to"] is not None and attrs["effective_to"] <= attrs["effective_from"]:
            raise serializers.ValidationError({"effective_to": [_("解除时间必须晚于生效时间。")]})
        return attrs


class RiskAreaUpdateInputSerializer(serializers.Serializer):
    effective_to = PlannedDateTimeField(allow_null=True, label=_("解除时间"))


class WithdrawInputSerializer(serializers.Serializer):
    """Withdraw (撤销) a record made in error: the reason is required and kept with the record."""

    reason = serializers.CharField(max_length=WITHDRAWAL_REASON_MAX, label=_("撤销原因"))


class RiskAreaOutputSerializer(serializers.ModelSerializer):
    region_code = serializers.CharField(source="region_id", read_only=True, label=_("区划代码"))
    region_name = serializers.CharField(source="region.full_name", read_only=True, label=_("区划名称"))
    level = RiskLevelField(read_only=True)

    class Meta:
        model = RiskArea
        fields = [
            "id",
            "region_code",
            "region_name",
            "level",
            "effective_from",
            "effective_to",
            "created_at",
            "withdrawn_at",
            "withdrawal_reason",
        ]


# --- designations ------------------------------------------------------------------------------
class DesignationCreateInputSerializer(serializers.Serializer):
    person = PersonSerializer(label=_("人员"))
    kind = DesignationKindField()
    designated_at = PastDateTimeField(label=_("认定时间"))
    cleared_at = PlannedDateTimeField(required=False, allow_null=True, default=None, label=_("解除时间"))

    def validate(self, attrs):
        ensure_order(attrs["designated_at"], attrs["cleared_at"], field="cleared_at", message=CLEARED_BEFORE_DESIGNATED)
        return attrs


class DesignationClearInputSerializer(serializers.Serializer):
    cleared_at = PlannedDateTimeField(required=False, allow_null=True, default=None, label=_("解除时间"))


class DesignationOutputSerializer(serializers.ModelSerializer):
    person = MaskedPersonSerializer(read_only=True)
    kind = DesignationKindField(read_only=True)

    class Meta:
        model = Designation
        fields = ["id", "person", "kind", "designated_at", "cleared_at", "created_at", "withdrawn_at", "withdrawal_reason"]


# --- itinerary ---------------------------------------------------------------------------------
class StayInputSerializer(serializers.Serializer):
    person = PersonSerializer(label=_("人员"))
    city_code = RegionCodeField(current=False, label=_("城市代码"))
    arrived_at = PastDateTimeField(label=_("到达时间"))
    left_at = PastDateTimeField(required=False, allow_null=True, default=None, label=_("离开时间"))

    def validate(self, attrs):
        ensure_order(attrs["arrived_at"], attrs["left_at"], field="left_at", message=_("离开时间不能早于到达时间。"))
        return attrs


class StaysInputSerializer(serializers.Serializer):
    stays = BoundedListField(child=StayInputSerializer(), max_length=STAYS_MAX, allow_empty=False, label=_("行程"))

    def validate_stays(self, stays):
        unknown = region_codes_unknown(row["city_code"] for row in stays)
        errors = {index: {"city_code": [UNKNOWN_REGION]} for index, row in enumerate(stays) if row["city_code"] in unknown}
        if errors:
            raise serializers.ValidationError(errors)
        return stays


class StaysOutputSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(label=_("已接收"))


# --- the public's own status -----------------------------------------------------------------
class StatusQueryInputSerializer(PersonSerializer):
    """`{name, id_number}`: the resident's own status."""


class DeclarationInputSerializer(PersonSerializer):
    city_codes = BoundedListField(
        child=RegionCodeField(current=False), max_length=DECLARATION_REGIONS_MAX, allow_empty=False, label=_("申报城市")
    )

    def validate_city_codes(self, codes):
        unknown = region_codes_unknown(codes)
        errors = {index: [UNKNOWN_REGION] for index, code in enumerate(codes) if code in unknown}
        if errors:
            raise serializers.ValidationError(errors)
        return list(dict.fromkeys(codes))


# --- staff reads -------------------------------------------------------------------------------
class PersonStatusInputSerializer(DocumentFields):
    """`{id_number}` or `{document_type, document_number, nationality?}`, and why."""

    purpose = serializers.CharField(max_length=255, required=False, allow_blank=True, default="", label=_("事由"))


class StatusEventSerializer(serializers.ModelSerializer):
    old_label = serializers.SerializerMethodField(label=_("原状态名称"))
    new_label = serializers.SerializerMethodField(label=_("新状态名称"))

    class Meta:
        model = StatusEvent
        fields = [
            "old_status",
            "old_label",
            "old_reasons",
            "new_status",
            "new_label",
            "new_reasons",
            "cause",
            "computed_at",
            "policy_version",
        ]

    def _label(self, code: str) -> str:
        return str(HealthStatus.Code(code).label) if code in HealthStatus.Code.values else ""

    def get_old_label(self, event: StatusEvent) -> str:
        return self._label(event.old_status)

    def get_new_label(self, event: StatusEvent) -> str:
        return self._label(event.new_status)


class DeclarationOutputSerializer(serializers.Serializer):
    """A declaration as staff see it: when, which cities, and a marker of the client that made it."""

    declared_at = serializers.DateTimeField(label=_("申报时间"))
    city_codes = serializers.ListField(source="region_codes", child=serializers.CharField(), label=_("申报城市"))
    client = serializers.SerializerMethodField(label=_("申报终端"))

    def get_client(self, declaration) -> str:
        return client_marker(declaration.client_digest) if declaration.client_digest else ""


class PersonStatusOutputSerializer(StatusSerializer):
    person = MaskedPersonSerializer()
    policy_version = serializers.IntegerField(allow_null=True, label=_("规则版本"))
    needs_review = serializers.BooleanField(label=_("需卫健部门复核"))
    history = StatusEventSerializer(many=True, label=_("状态变更记录"))
    declarations = DeclarationOutputSerializer(many=True, label=_("近期行程申报"))



# --- a name corrected ----------------------------------------------------------------------------
class PersonNameCorrectInputSerializer(DocumentFields):
    """`{id_number, name, reason}`: the person by number or document (in the body, never the URL), the
    right name, why."""

    name = serializers.CharField(max_length=64, label=_("新姓名"))
    reason = serializers.CharField(max_length=255, label=_("更正原因"))


class PersonNameCorrectionOutputSerializer(serializers.ModelSerializer):
    person = MaskedPersonSerializer(read_only=True)
    corrected_by = serializers.CharField(source="corrected_by.get_username", read_only=True, default=None)
    status = StatusSerializer(read_only=True, label=_("健康状态"))

    class Meta:
        model = PersonNameCorrection
        fields = ["id", "person", "old_name", "new_name", "reason", "corrected_by", "corrected_at", "status"]
