"""Input and output serializers of the hotels API, one pair per operation."""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from health.api.common import (
    DocumentOutput,
    PastDateTimeField,
    PersonSerializer,
    RegionCodeField,
    StatusSerializer,
)
from hotels.models import CheckIn, NucleicAcidTest

# A registration carries the tests the guest shows or takes at the desk: a handful at most.
MAX_TESTS_PER_CHECKIN = 20


# --- tests -------------------------------------------------------------------------------------
class NatTestInputSerializer(serializers.Serializer):
    sampled_at = PastDateTimeField(label=_("采样时间"))
    result = serializers.ChoiceField(choices=NucleicAcidTest.Result.choices, label=_("检测结果"))
    source = serializers.ChoiceField(choices=NucleicAcidTest.Source.choices, label=_("来源"))


class NatTestOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    checkin_id = serializers.IntegerField()
    sampled_at = serializers.DateTimeField()
    result = serializers.CharField()
    source = serializers.CharField()
    recorded_at = serializers.DateTimeField()


class NatTestAddedSerializer(NatTestOutputSerializer):
    status = StatusSerializer()


# --- check-ins ---------------------------------------------------------------------------------
class CheckInInputSerializer(serializers.Serializer):
    person = PersonSerializer(label=_("客人"))
    checked_in_at = PastDateTimeField(label=_("入住时间"))
    origin_region_code = RegionCodeField(label=_("来源地"))
    health_management_accepted = serializers.BooleanField(default=False, label=_("接受酒店健康管理"))
    nat_tests = NatTestInputSerializer(many=True, required=False, default=list, label=_("核酸检测"))

    def validate_nat_tests(self, value):
        if len(value) > MAX_TESTS_PER_CHECKIN:
            raise serializers.ValidationError(
                _("每次登记最多 %(count)s 项核酸检测。") % {"count": MAX_TESTS_PER_CHECKIN}
            )
        return value


class CheckOutInputSerializer(serializers.Serializer):
    checked_out_at = PastDateTimeField(required=False, allow_null=True, default=None, label=_("离店时间"))


class GuestSerializer(DocumentOutput):
    """The guest as a front desk may see them: the name and the masked ID number, never the number."""

    name = serializers.CharField()
    id_masked = serializers.CharField()


class CheckInOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    hotel_code = serializers.CharField(source="hotel.code")
    person = GuestSerializer()
    checked_in_at = serializers.DateTimeField()
    checked_out_at = serializers.DateTimeField(allow_null=True)
    origin_region_code = serializers.CharField(source="origin_region_id")
    health_management_accepted = serializers.BooleanField()
    nat_tests = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    @extend_schema_field(NatTestOutputSerializer(many=True))
    def get_nat_tests(self, checkin: CheckIn) -> list[dict]:
        tests = sorted(checkin.nat_tests.all(), key=lambda test: (test.sampled_at, test.pk))
        return NatTestOutputSerializer(tests, many=True).data

    @extend_schema_field(StatusSerializer(allow_null=True))
    def get_status(self, checkin: CheckIn) -> dict | None:
        # The view passes the statuses it read through the audited read (health.status_reads): a guest
        # who has left (outside the checkout's own answer) has none.
        shown = self.context.get("statuses", {}).get(checkin.person_id)
        return StatusSerializer(shown).data if shown is not None else None
