"""The public endpoint of status correction requests: a resident asks for their status to be looked at again."""
from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from health.services import corrections

from .common import PersonSerializer
from .throttling import CorrectionPersonThrottle, PublicAddressThrottle
from .views import PUBLIC_ERRORS, PublicView, _valid


class CorrectionInputSerializer(PersonSerializer):
    """`{name, id_number, message}`."""

    message = serializers.CharField(max_length=corrections.MESSAGE_MAX, label=_("申请说明"))


class CorrectionOutputSerializer(serializers.Serializer):
    received = serializers.BooleanField(label=_("已收到"))
    detail = serializers.CharField(label=_("说明"))


class CorrectionView(PublicView):
    # The answer is the same for every name (no status, nothing to guess): no ceiling per number, and a
    # stranger's requests with another name neither are stored nor spend the owner's budget.
    throttle_classes = [PublicAddressThrottle, CorrectionPersonThrottle]

    @extend_schema(
        tags=["public"],
        summary=_("申请更正健康状态"),
        description=_(
            "姓名与身份证号属于已登记人员时，申请转交决定其当前状态的机构（卫健部门、隔离或管理社区、海关边检或国家政务服务平台）处理，"
            "说明中的证件号码在保存前隐去；否则不保存任何内容。两种情况的应答相同，不透露该人员是否已登记。"
        ),
        request=CorrectionInputSerializer,
        responses={202: CorrectionOutputSerializer, **PUBLIC_ERRORS},
        auth=[],
    )
    def post(self, request):
        data = _valid(CorrectionInputSerializer, request)
        corrections.correction_submit(name=data["name"], id_number=data["id_number"], message=data["message"])
        payload = {
            "received": True,
            "detail": gettext("已收到您的申请。如信息核实无误，所在社区或卫健部门将尽快处理，请留意健康状态变化。"),
        }
        return Response(CorrectionOutputSerializer(payload).data, status=status.HTTP_202_ACCEPTED)
