"""Thin API views of the hotels app: check the caller, validate, call a service, answer with the status."""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from health import replicas
from health.api.common import (
    IsStaff,
    OrganisationInput,
    OrganisationOutput,
    object_scoped,
    organisation_scoped,
    require_kind,
    status_payload,
)
from health.auth import HOTEL_CHECKINS
from health.errors import NotAllowed, NotVisible
from health.models import Organisation
from health.selectors import user_is_admin
from health.status_reads import Screen, status_for_staff, statuses_for_staff
from hotels import selectors, services
from hotels.api import serializers as s
from hotels.models import CheckIn

HOTEL = Organisation.Kind.HOTEL


def _checkin_for(user, pk: int) -> CheckIn:
    """The check-in `pk` if the caller's hotel owns it: 403 for another kind, 404 for another hotel's."""
    require_kind(user, HOTEL)
    checkin = CheckIn.objects.select_related("person", "hotel").filter(pk=pk).first()
    if checkin is None:
        raise NotVisible()
    return object_scoped(user, checkin, organisation_id=checkin.hotel_id, kind=HOTEL)


def _checkin_answer(request, checkin_pk: int, *, person_id: int, screen: Screen) -> dict:
    """The stay as stored, with the guest's status recomputed now (they are waiting at the desk): an audited read."""
    fresh = status_payload(status_for_staff(user=request.user, person_id=person_id, screen=screen))
    checkin = (
        CheckIn.objects.select_related("person", "hotel", "origin_region").prefetch_related("nat_tests").get(pk=checkin_pk)
    )
    return s.CheckInOutputSerializer(checkin, context={"statuses": {person_id: fresh}}).data


class HotelCreateApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=OrganisationInput, responses={201: OrganisationOutput}, summary=_("新建酒店（管理员）"))
    def post(self, request):
        if not user_is_admin(request.user):
            raise NotAllowed()
        data = OrganisationInput(data=request.data)
        data.is_valid(raise_exception=True)
        hotel = services.hotel_create(actor=request.user, **data.validated_data)
        return Response(OrganisationOutput(hotel).data, status=status.HTTP_201_CREATED)


class HotelCheckInsApi(APIView):
    permission_classes = [IsStaff]
    machine_key_scope = HOTEL_CHECKINS

    @extend_schema(
        parameters=[OpenApiParameter("current", bool, description=_("true：仅在住客人；false：仅已离店"))],
        responses={200: s.CheckInOutputSerializer(many=True)},
        summary=_("酒店入住登记列表"),
    )
    def get(self, request, code: str):
        # A list is a read: served by a healthy replica when there is one (health/replicas.py).
        return replicas.reads(lambda: self._list(request, code), user=request.user)

    def _list(self, request, code: str):
        hotel = organisation_scoped(request.user, kind=HOTEL, code=code)
        current = {"true": True, "1": True, "false": False, "0": False}.get(request.query_params.get("current", "").lower())
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(selectors.hotel_checkins(hotel=hotel, current=current), request, view=self)
        # The statuses of the guests still checked in, in one audited read; a guest who left shows none.
        statuses = statuses_for_staff(
            user=request.user,
            person_ids=[checkin.person_id for checkin in page if checkin.checked_out_at is None],
            screen=Screen.api(_("接口：酒店入住登记列表")),
        )
        context = {"statuses": {pk: status_payload(status) for pk, status in statuses.items()}}
        return paginator.get_paginated_response(s.CheckInOutputSerializer(page, many=True, context=context).data)

    @extend_schema(request=s.CheckInInputSerializer, responses={201: s.CheckInOutputSerializer}, summary=_("登记入住"))
    def post(self, request, code: str):
        hotel = organisation_scoped(request.user, kind=HOTEL, code=code)
        data = s.CheckInInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        checkin = services.checkin_register(
            actor=request.user,
            hotel=hotel,
            person_name=values["person"]["name"],
            id_number=values["person"]["id_number"],
            checked_in_at=values["checked_in_at"],
            origin_region_code=values["origin_region_code"],
            health_management_accepted=values["health_management_accepted"],
            nat_tests=values["nat_tests"],
        )
        answer = _checkin_answer(request, checkin.pk, person_id=checkin.person_id, screen=Screen.api(_("接口：登记入住")))
        return Response(answer, status=status.HTTP_201_CREATED)


class CheckInNatTestsApi(APIView):
    permission_classes = [IsStaff]
    machine_key_scope = HOTEL_CHECKINS

    @extend_schema(request=s.NatTestInputSerializer, responses={201: s.NatTestAddedSerializer}, summary=_("录入核酸检测结果"))
    def post(self, request, pk: int):
        checkin = _checkin_for(request.user, pk)
        data = s.NatTestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        nat_test = services.nat_test_add(actor=request.user, checkin=checkin, **data.validated_data)
        answer = dict(s.NatTestOutputSerializer(nat_test).data)
        health_status = status_for_staff(
            user=request.user, person_id=checkin.person_id, screen=Screen.api(_("接口：录入核酸检测结果"))
        )
        answer["status"] = s.StatusSerializer(status_payload(health_status)).data
        return Response(answer, status=status.HTTP_201_CREATED)


class CheckInCheckOutApi(APIView):
    permission_classes = [IsStaff]
    machine_key_scope = HOTEL_CHECKINS

    @extend_schema(request=s.CheckOutInputSerializer, responses={200: s.CheckInOutputSerializer}, summary=_("办理离店"))
    def post(self, request, pk: int):
        checkin = _checkin_for(request.user, pk)
        data = s.CheckOutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.checkout(actor=request.user, checkin=checkin, checked_out_at=data.validated_data["checked_out_at"])
        answer = _checkin_answer(request, checkin.pk, person_id=checkin.person_id, screen=Screen.api(_("接口：办理离店")))
        return Response(answer, status=status.HTTP_200_OK)
