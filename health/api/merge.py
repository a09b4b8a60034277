"""`POST /api/v1/persons/merge/`: two persons who are one, merged by an administrator or the health
department (health.services.merge)."""
from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from health.errors import NotVisible
from health.models import Organisation, Person, PersonMerge
from health.selectors import person_readable_by
from health.services import merge

from .common import DocumentFields, IsStaff, require_kind
from .serializers import MaskedPersonSerializer
from .views import ERRORS, NOT_FOUND

_DOCUMENT_SCHEMA = {
    "type": "object",
    "properties": {
        "id_number": {"type": "string"},
        "document_type": {"type": "string"},
        "document_number": {"type": "string"},
        "nationality": {"type": "string"},
    },
}


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1}, _DOCUMENT_SCHEMA]})
class PersonRefField(serializers.Field):
    """A person: their id (as the staff read and the dashboard show it), or a document object
    (`{id_number}` or `{document_type, document_number, nationality?}`), never a number in the URL."""

    default_error_messages = {"invalid": _("请以人员编号或证件（id_number，或 document_type 与 document_number）指明人员。")}

    def to_internal_value(self, data):
        if type(data) is int:
            if not 0 < data < 2**63:
                self.fail("invalid")  # no such person; and never an out-of-range integer to the database
            return data
        if not isinstance(data, dict):
            self.fail("invalid")
        document = DocumentFields(data=data, context=self.context)
        if not document.is_valid():
            raise serializers.ValidationError(document.errors)
        return document.validated_data["id_number"]

    def to_representation(self, value):
        return value


class MergeInputSerializer(serializers.Serializer):
    keep = PersonRefField(label=_("保留的人员"))
    merge = PersonRefField(label=_("并入的人员"))
    reason = serializers.CharField(max_length=255, label=_("合并原因"))


class MergeOutputSerializer(serializers.ModelSerializer):
    kept = MaskedPersonSerializer(read_only=True)
    merged = serializers.SerializerMethodField()

    class Meta:
        model = PersonMerge
        fields = ["id", "kept", "merged", "reason", "moved", "merged_at"]

    def get_merged(self, event) -> dict:
        return {
            "id": event.merged_person_id,
            "name": event.merged_name,
            "id_masked": event.merged_masked,
            "document_type": event.merged_document_type,
        }


def _person(user, ref) -> Person:
    if type(ref) is int:
        person = Person.objects.filter(pk=ref).first()
    else:
        person = person_readable_by(user, id_number=ref)
    if person is None:
        raise NotVisible()
    return person


class PersonMergeView(APIView):
    """Every record of `merge` moves to `keep` in one transaction; audited; the kept person recomputed."""

    permission_classes = [IsStaff]

    @extend_schema(
        tags=["persons"],
        summary=_("合并重复登记的人员（留痕，不可撤销）"),
        request=MergeInputSerializer,
        responses={200: MergeOutputSerializer, **ERRORS, **NOT_FOUND},
    )
    def post(self, request):
        require_kind(request.user, Organisation.Kind.HEALTH)
        serializer = MergeInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        keep, merged = _person(request.user, data["keep"]), _person(request.user, data["merge"])
        event = merge.persons_merge(actor=request.user, keep=keep, merge=merged, reason=data["reason"])
        return Response(MergeOutputSerializer(event).data)
