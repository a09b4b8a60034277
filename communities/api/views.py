"""Thin views of the communities API: scope the caller, validate, call a service, answer."""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from communities import selectors, services
from communities.api import serializers as s
from health import replicas
from health.api.common import (
    IsStaff,
    OrganisationInput,
    OrganisationOutput,
    organisation_scoped,
    require_kind,
    status_payload,
)
from health.errors import NotVisible
from health.models import Organisation
from health.status_reads import Screen, status_for_staff


def _with_status(request, record, *, screen: Screen) -> dict:
    """The record and its person's status (an audited read), recomputed first if the change is not yet reflected."""
    payload = s.QuarantineOutput(record).data
    health_status = status_for_staff(user=request.user, person_id=record.person_id, screen=screen)
    payload["status"] = s.StatusSerializer(status_payload(health_status)).data
    return payload


def _visible_record(request, pk: int):
    # Another kind of organisation may not take these actions at all (403) before anything is looked up.
    require_kind(request.user, Organisation.Kind.COMMUNITY)
    record = selectors.quarantines_visible_to(request.user).filter(pk=pk).first()
    if record is None:
        raise NotVisible()
    return record


class CommunityCreateView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=OrganisationInput, responses={201: OrganisationOutput}, summary=_("新建社区（管理员）"))
    def post(self, request):
        require_kind(request.user)  # administrators only
        data = OrganisationInput(data=request.data)
        data.is_valid(raise_exception=True)
        community = services.community_create(actor=request.user, **data.validated_data)
        return Response(OrganisationOutput(community).data, status=status.HTTP_201_CREATED)


class CommunityQuarantinesView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        parameters=[OpenApiParameter("active", bool, description=_("true：仅未解除的隔离"))],
        responses={200: s.QuarantineOutput(many=True)},
        summary=_("本社区的隔离记录"),
    )
    def get(self, request, code: str):
        # A list is a read: served by a healthy replica when there is one (health/replicas.py).
        return replicas.reads(lambda: self._list(request, code), user=request.user)

    def _list(self, request, code: str):
        community = organisation_scoped(request.user, kind=Organisation.Kind.COMMUNITY, code=code)
        params = s.QuarantineListInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        queryset = selectors.quarantine_list(user=request.user, community=community, active=params.validated_data["active"])
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(s.QuarantineOutput(page, many=True).data)

    @extend_schema(request=s.QuarantineCreateInput, responses={201: s.QuarantineWithStatusOutput}, summary=_("登记隔离"))
    def post(self, request, code: str):
        community = organisation_scoped(request.user, kind=Organisation.Kind.COMMUNITY, code=code)
        data = s.QuarantineCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        record = services.quarantine_register(
            actor=request.user,
            community=community,
            person_name=values["person"]["name"],
            id_number=values["person"]["id_number"],
            kind=values["kind"],
            started_at=values["started_at"],
            planned_end_at=values.get("planned_end_at"),
        )
        answer = _with_status(request, record, screen=Screen.api(_("接口：登记隔离")))
        return Response(answer, status=status.HTTP_201_CREATED)


class QuarantineDetailView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={200: s.QuarantineDetailOutput}, summary=_("隔离记录详情"))
    def get(self, request, pk: int):
        return Response(s.QuarantineDetailOutput(_visible_record(request, pk)).data)

    @extend_schema(request=s.QuarantinePlannedEndInput, responses={200: s.QuarantineDetailOutput}, summary=_("修改计划解除时间"))
    def patch(self, request, pk: int):
        record = _visible_record(request, pk)
        data = s.QuarantinePlannedEndInput(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.quarantine_change_planned_end(actor=request.user, record=record, **data.validated_data)
        return Response(s.QuarantineDetailOutput(record).data)


class QuarantineLiftView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=s.QuarantineLiftInput, responses={200: s.QuarantineWithStatusOutput}, summary=_("解除隔离"))
    def post(self, request, pk: int):
        record = _visible_record(request, pk)
        data = s.QuarantineLiftInput(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.quarantine_lift(actor=request.user, record=record, lifted_at=data.validated_data.get("lifted_at"))
        return Response(_with_status(request, record, screen=Screen.api(_("接口：解除隔离"))))
