"""Endpoints of the core app: token, risk areas, designations, itinerary feed, public and staff status reads.

Views are thin: validate with the input serializer, check who may act, call one service,
render with the output serializer.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.security import client_address_digest
from health import replicas
from health.auth import ITINERARY_STAYS
from health.errors import NotVisible
from health.identity import Document
from health.models import Organisation
from health.passes.answers import PublicStatusSerializer, public_status_payload
from health.selectors import (
    designations_visible_to,
    person_declarations_recent,
    person_readable_by,
    person_status_history,
    risk_areas_visible_to,
)
from health.services import access, designations, itinerary, persons, risk_areas, tokens
from health.status_reads import Screen, status_for_staff

from . import serializers as s
from .common import IsStaff, require_kind, status_payload
from .errors import BODY_REFUSED
from .throttling import (
    DeclarationPersonThrottle,
    PublicAddressThrottle,
    PublicIdNumberThrottle,
    PublicPersonThrottle,
    TokenAddressThrottle,
    id_number_checked,
    throttles_exceeded,
)

HEALTH = Organisation.Kind.HEALTH
PLATFORM = Organisation.Kind.PLATFORM

ERRORS = {
    400: OpenApiResponse(description=_("输入无效（字段错误）")),
    401: OpenApiResponse(description=_("未提供身份凭据")),
    403: OpenApiResponse(description=_("该机构类型无权执行此操作")),
}
NOT_FOUND = {404: OpenApiResponse(description=_("不存在或不属于本机构"))}


class TokenView(APIView):
    """`{username, password, otp_token?}` -> `{token, expiry}`: a new staff token, valid 12 hours (health/auth.py)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenAddressThrottle]

    @extend_schema(
        tags=["auth"],
        summary=_("获取访问令牌"),
        description=_(
            "每次调用签发一个新令牌，12小时后失效（不随使用延长）；修改密码或停用账号后该账号的全部令牌立即失效。"
            "绑定了动态验证码设备的账号须同时提交 otp_token。系统对接（平台行程推送、酒店前台系统）使用接入密钥"
            "（Authorization: Api-Key …），由管理员在后台签发。"
        ),
        request=s.TokenInputSerializer,
        responses={200: s.TokenOutputSerializer, 400: ERRORS[400], 429: OpenApiResponse(description=_("请求过于频繁"))},
        auth=[],
    )
    def post(self, request):
        data = _valid(s.TokenInputSerializer, request)
        token, plain = tokens.api_token_issue(user=data["user"], otp_token=data["otp_token"], request=request)
        return Response(s.TokenOutputSerializer({"token": plain, "expiry": token.expiry}).data)


# --- risk areas --------------------------------------------------------------------------------
class RiskAreaListView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        tags=["risk-areas"],
        summary=_("发布风险地区"),
        request=s.RiskAreaCreateInputSerializer,
        responses={201: s.RiskAreaOutputSerializer, **ERRORS},
    )
    def post(self, request):
        organisation = require_kind(request.user, HEALTH)
        data = _valid(s.RiskAreaCreateInputSerializer, request)
        risk_area = risk_areas.risk_area_create(
            actor=request.user,
            organisation=organisation,
            region=_region(data["region_code"]),
            level=data["level"],
            effective_from=data["effective_from"],
            effective_to=data["effective_to"],
        )
        return Response(s.RiskAreaOutputSerializer(risk_area).data, status=status.HTTP_201_CREATED)


class RiskAreaDetailView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        tags=["risk-areas"],
        summary=_("调整风险地区（解除时间）"),
        request=s.RiskAreaUpdateInputSerializer,
        responses={200: s.RiskAreaOutputSerializer, **ERRORS, **NOT_FOUND},
    )
    def patch(self, request, pk: int):
        require_kind(request.user, HEALTH)
        risk_area = _visible(risk_areas_visible_to(request.user), pk)
        data = _valid(s.RiskAreaUpdateInputSerializer, request)
        risk_area = risk_areas.risk_area_update(
            actor=request.user, risk_area=risk_area, effective_to=data["effective_to"]
        )
        return Response(s.RiskAreaOutputSerializer(risk_area).data)


class RiskAreaWithdrawView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        tags=["risk-areas"],
        summary=_("撤销风险地区（误发布，视同从未发布）"),
        request=s.WithdrawInputSerializer,
        responses={200: s.RiskAreaOutputSerializer, **ERRORS, **NOT_FOUND},
    )
    def post(self, request, pk: int):
        require_kind(request.user, HEALTH)
        risk_area = _visible(risk_areas_visible_to(request.user), pk)
        data = _valid(s.WithdrawInputSerializer, request)
        risk_area = risk_areas.risk_area_withdraw(actor=request.user, risk_area=risk_area, reason=data["reason"])
        return Response(s.RiskAreaOutputSerializer(risk_area).data)


# --- designations ------------------------------------------------------------------------------
class DesignationListView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        tags=["designations"],
        summary=_("登记病例认定"),
        request=s.DesignationCreateInputSerializer,
        responses={
            201: s.DesignationOutputSerializer,
            **ERRORS,
            409: OpenApiResponse(description=_("姓名与身份证号不符")),
        },
    )
    def post(self, request):
        require_kind(request.user, HEALTH)
        data = _valid(s.DesignationCreateInputSerializer, request)
        designation = designations.designation_create(
            actor=request.user,
            name=data["person"]["name"],
            id_number=data["person"]["id_number"],
            kind=data["kind"],
            designated_at=data["designated_at"],
            cleared_at=data["cleared_at"],
        )
        return Response(s.DesignationOutputSerializer(designation).data, status=status.HTTP_201_CREATED)


class DesignationClearView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        tags=["designations"],
        summary=_("解除病例认定"),
        request=s.DesignationClearInputSerializer,
        responses={200: s.DesignationOutputSerializer, **ERRORS, **NOT_FOUND},
    )
    def post(self, request, pk: int):
        require_kind(request.user, HEALTH)
        designation = _visible(designations_visible_to(request.user), pk)
        data = _valid(s.DesignationClearInputSerializer, request)
        designation = designations.designation_clear(
            actor=request.user, designation=designation, cleared_at=data["cleared_at"]
        )
        return Response(s.DesignationOutputSerializer(designation).data)


class DesignationWithdrawView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        tags=["designations"],
        summary=_("撤销病例认定（误认定，视同从未认定）"),
        request=s.WithdrawInputSerializer,
        responses={200: s.DesignationOutputSerializer, **ERRORS, **NOT_FOUND},
    )
    def post(self, request, pk: int):
        require_kind(request.user, HEALTH)
        designation = _visible(designations_visible_to(request.user), pk)
        data = _valid(s.WithdrawInputSerializer, request)
        designation = designations.designation_withdraw(
            actor=request.user, designation=designation, reason=data["reason"]
        )
        return Response(s.DesignationOutputSerializer(designation).data)


# --- itinerary feed ----------------------------------------------------------------------------
class StaysView(APIView):
    permission_classes = [IsStaff]
    machine_key_scope = ITINERARY_STAYS

    @extend_schema(
        tags=["itinerary"],
        summary=_("批量上报行程（全部成功或全部不写入）"),
        request=s.StaysInputSerializer,
        responses={
            201: s.StaysOutputSerializer,
            **ERRORS,
            409: OpenApiResponse(description=_("某行姓名与身份证号不符")),
        },
    )
    def post(self, request):
        require_kind(request.user, PLATFORM)
        data = _valid(s.StaysInputSerializer, request)
        rows = [
            itinerary.StayInput(
                name=row["person"]["name"],
                id_number=row["person"]["id_number"],
                region_code=row["city_code"],
                arrived_at=row["arrived_at"],
                left_at=row["left_at"],
            )
            for row in data["stays"]
        ]
        accepted = itinerary.stays_ingest(actor=request.user, stays=rows)
        return Response(s.StaysOutputSerializer({"accepted": accepted}).data, status=status.HTTP_201_CREATED)


# --- the public's own status -----------------------------------------------------------------
class PublicView(APIView):
    """Anyone, without credentials; throttled per address and per ID number; never cached."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicAddressThrottle, PublicIdNumberThrottle, PublicPersonThrottle]

    # Every public answer, whichever path gives it (status_query.py builds its own with these).
    extra_headers = {"Cache-Control": "no-store"}

    def check_throttles(self, request):
        # Counted already by the fast path of status_query.py, which hands over a request over its limit.
        wait = getattr(request, "public_throttle_wait", None)
        if wait is not None:
            self.throttled(request, wait)
        # A body that cannot be read (malformed, nested too deep, too large, another media type) is
        # still counted per address, then refused with its own 400/415 (DRF would give the view an
        # empty body the second time it is read).
        try:
            request.data  # noqa: B018 - read (and parsed) here, once
        except (exceptions.ParseError, exceptions.UnsupportedMediaType, *BODY_REFUSED) as error:
            unreadable = error
        else:
            unreadable = None
        # Both counters in one round trip; DRF's own check asks each throttle in turn.
        exceeded = throttles_exceeded(self.get_throttles(), request, self)
        if exceeded:
            self.throttled(request, max(throttle.wait() for throttle in exceeded))
        if unreadable is not None:
            raise unreadable

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for header, value in self.extra_headers.items():
            response[header] = value
        return response


PUBLIC_ERRORS = {400: ERRORS[400], 429: OpenApiResponse(description=_("请求过于频繁"))}


class StatusQueryView(PublicView):
    """The DRF view of the status query: the schema, and every request the fast path hands on (status_query.py)."""

    name_max_length = s.StatusQueryInputSerializer().fields["name"].max_length

    @classmethod
    def response_headers(cls) -> dict[str, str]:
        """The headers DRF and this view add to a JSON answer (Allow, Vary, Cache-Control)."""
        return {**cls().default_response_headers, **cls.extra_headers}

    @extend_schema(
        tags=["public"],
        summary=_("查询本人健康状态"),
        request=s.StatusQueryInputSerializer,
        responses={200: PublicStatusSerializer, **PUBLIC_ERRORS},
        auth=[],
    )
    def post(self, request):
        data = _valid(s.StatusQueryInputSerializer, request)
        # The digest the ID throttle and the serializer already computed for this number.
        number = data["id_number"]
        digest = number.digest if isinstance(number, Document) else id_number_checked(request, number).digest
        health_status = access.status_public_by_digest(name=data["name"], id_digest=digest)
        payload = public_status_payload(health_status, name=data["name"], id_number=data["id_number"], id_digest=digest)
        return Response(PublicStatusSerializer(payload).data)


class DeclarationView(PublicView):
    # The number's ceiling is the query's (a declaration answers a status too); the owner's budget is its own.
    throttle_classes = [PublicAddressThrottle, PublicIdNumberThrottle, DeclarationPersonThrottle]

    @extend_schema(
        tags=["public"],
        summary=_("申报行程并重新计算健康状态"),
        request=s.DeclarationInputSerializer,
        responses={201: PublicStatusSerializer, **PUBLIC_ERRORS},
        auth=[],
    )
    def post(self, request):
        data = _valid(s.DeclarationInputSerializer, request)
        person = itinerary.declaration_submit(
            name=data["name"],
            id_number=data["id_number"],
            region_codes=data["city_codes"],
            client_digest=client_address_digest(request),
        )
        if person is None:
            health_status = access.status_of_stranger()
        else:
            # Recomputed now if the task has not done it yet: the person sees the answer to their declaration.
            health_status = access.person_status_fresh(person.pk)
            # And their next queries read the primary until the replicas have this declaration.
            replicas.pin_to_primary(person.id_digest)
        digest = id_number_checked(request, data["id_number"]).digest
        payload = public_status_payload(health_status, name=data["name"], id_number=data["id_number"], id_digest=digest)
        return Response(PublicStatusSerializer(payload).data, status=status.HTTP_201_CREATED)


# --- staff reads -------------------------------------------------------------------------------
class PersonStatusView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        tags=["persons"],
        summary=_("工作人员查询人员健康状态（留痕）"),
        request=s.PersonStatusInputSerializer,
        responses={200: s.PersonStatusOutputSerializer, **ERRORS, **NOT_FOUND},
    )
    def post(self, request):
        data = _valid(s.PersonStatusInputSerializer, request)
        person = person_readable_by(request.user, id_number=data["id_number"])
        if person is None:
            raise NotVisible()
        health_status = status_for_staff(
            user=request.user, person_id=person.pk, screen=Screen.api(_("接口：查询人员健康状态")), purpose=data["purpose"]
        )
        payload = status_payload(health_status) | {
            "person": person,
            "policy_version": health_status.policy_version,
            "needs_review": health_status.needs_review,
            "history": list(person_status_history(person.pk)),
            "declarations": list(person_declarations_recent(person.pk)),
        }
        return Response(s.PersonStatusOutputSerializer(payload).data)


class PersonNameCorrectView(APIView):
    """An administrator or the health authority corrects a person's name (audited); the person is recomputed."""

    permission_classes = [IsStaff]

    @extend_schema(
        tags=["persons"],
        summary=_("更正人员姓名（留痕）"),
        request=s.PersonNameCorrectInputSerializer,
        responses={200: s.PersonNameCorrectionOutputSerializer, **ERRORS, **NOT_FOUND},
    )
    def post(self, request):
        require_kind(request.user, HEALTH)
        data = _valid(s.PersonNameCorrectInputSerializer, request)
        person = person_readable_by(request.user, id_number=data["id_number"])
        if person is None:
            raise NotVisible()
        correction = persons.person_name_correct(
            actor=request.user, person=person, name=data["name"], reason=data["reason"]
        )
        correction.status = status_payload(
            status_for_staff(user=request.user, person_id=person.pk, screen=Screen.api(_("接口：更正人员姓名")))
        )
        return Response(s.PersonNameCorrectionOutputSerializer(correction).data)


# --- helpers -----------------------------------------------------------------------------------
def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _visible(queryset, pk: int):
    try:
        return queryset.get(pk=pk)
    except queryset.model.DoesNotExist:
        raise NotVisible() from None


def _region(code: str):
    from health.models import Region

    return get_object_or_404(Region, code=code)
