"""Input and output serializers of the communities API, one pair per operation."""
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from communities.models import QuarantineRecord
from health.api.common import (
    DocumentOutput,
    PastDateTimeField,
    PersonSerializer,
    PlannedDateTimeField,
    StatusSerializer,
    ensure_order,
)


class QuarantineCreateInput(serializers.Serializer):
    person = PersonSerializer()
    kind = serializers.ChoiceField(choices=QuarantineRecord.Kind.choices, label=_("隔离方式"))
    started_at = PastDateTimeField(label=_("开始时间"))
    planned_end_at = PlannedDateTimeField(required=False, allow_null=True, label=_("计划解除时间"))

    def validate(self, data):
        ensure_order(data["started_at"], data.get("planned_end_at"), field="planned_end_at")
        return data


class QuarantineListInput(serializers.Serializer):
    active = serializers.BooleanField(required=False, allow_null=True, default=None, label=_("仅未解除"))


class QuarantinePersonOutput(DocumentOutput):
    name = serializers.CharField()
    id_masked = serializers.CharField()


class QuarantineOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    community = serializers.CharField(source="community.code")
    person = QuarantinePersonOutput()
    kind = serializers.CharField()
    started_at = serializers.DateTimeField()
    planned_end_at = serializers.DateTimeField(allow_null=True)
    lifted_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class PlannedEndChangeOutput(serializers.Serializer):
    old_planned_end_at = serializers.DateTimeField(allow_null=True)
    new_planned_end_at = serializers.DateTimeField(allow_null=True)
    changed_at = serializers.DateTimeField()
    changed_by = serializers.CharField(source="changed_by.get_username", allow_null=True, default=None)
    comment = serializers.CharField()


class QuarantineDetailOutput(QuarantineOutput):
    planned_end_changes = PlannedEndChangeOutput(many=True)


class QuarantineWithStatusOutput(QuarantineOutput):
    status = StatusSerializer()


class QuarantineLiftInput(serializers.Serializer):
    lifted_at = PastDateTimeField(required=False, allow_null=True, label=_("解除时间"))


class QuarantinePlannedEndInput(serializers.Serializer):
    planned_end_at = PlannedDateTimeField(allow_null=True, label=_("计划解除时间"))
    comment = serializers.CharField(max_length=255, label=_("修改原因"))
