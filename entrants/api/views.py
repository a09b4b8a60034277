"""Thin views of the entrants API: check who is calling, validate, call a service, answer."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import parsers, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from entrants import feed, services
from entrants.api.serializers import (
    InboundCaseCreateInput,
    InboundCaseOutput,
    InboundCaseUpdateInput,
    InboundReleaseInput,
)
from entrants.models import InboundCase
from entrants.selectors import inbound_cases_held_by
from health.api.common import IsStaff, require_kind
from health.errors import NotVisible
from health.models import Organisation
from health.status_reads import Screen, status_for_staff

BORDER = Organisation.Kind.BORDER
COMMUNITY = Organisation.Kind.COMMUNITY


def _case_get(pk: int, queryset=None) -> InboundCase:
    case = (queryset if queryset is not None else InboundCase.objects).filter(pk=pk).first()
    if case is None:
        raise NotVisible()
    return case


def _answer(request, case: InboundCase, code: int, *, screen: Screen) -> Response:
    """The case as stored, with its person's status (an audited read, recomputed if its facts changed)."""
    case = InboundCase.objects.select_related("person", "managing_community", "border", "released_by").get(pk=case.pk)
    health_status = status_for_staff(user=request.user, person_id=case.person_id, screen=screen)
    return Response(InboundCaseOutput(case, context={"status": health_status}).data, status=code)


class InboundCaseListView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=InboundCaseCreateInput, responses={201: InboundCaseOutput}, summary="登记入境人员")
    def post(self, request):
        require_kind(request.user, BORDER)
        data = InboundCaseCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        case = services.inbound_register(
            actor=request.user,
            person_name=values["person"]["name"],
            id_number=values["person"]["id_number"],
            entered_country_on=values["entered_country_on"],
            port=values["port"],
            origin_country=values["origin_country"],
            community_code=values.get("community_code"),
            quarantine_ended_at=values.get("quarantine_ended_at"),
            entered_city_on=values.get("entered_city_on"),
        )
        return _answer(request, case, status.HTTP_201_CREATED, screen=Screen.api(_("接口：登记入境人员")))


class InboundCaseDetailView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={200: InboundCaseOutput}, summary="查看入境人员")
    def get(self, request, pk: int):
        organisation = require_kind(request.user, BORDER, COMMUNITY)
        case = _case_get(pk, None if organisation is None else inbound_cases_held_by(organisation))
        return _answer(request, case, status.HTTP_200_OK, screen=Screen.api(_("接口：查看入境人员")))

    @extend_schema(request=InboundCaseUpdateInput, responses={200: InboundCaseOutput}, summary="更新入境人员")
    def patch(self, request, pk: int):
        require_kind(request.user, BORDER)
        case = _case_get(pk)
        data = InboundCaseUpdateInput(data=request.data, context={"case": case})
        data.is_valid(raise_exception=True)
        case = services.inbound_update(actor=request.user, case=case, **data.validated_data)
        return _answer(request, case, status.HTTP_200_OK, screen=Screen.api(_("接口：更新入境人员")))


class InboundCaseReleaseView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=InboundReleaseInput, responses={200: InboundCaseOutput}, summary="社区解除观察")
    def post(self, request, pk: int):
        organisation = require_kind(request.user, COMMUNITY)
        # Another community's case, like a missing one, is not found: nothing about it leaks.
        case = _case_get(
            pk, None if organisation is None else InboundCase.objects.filter(managing_community=organisation)
        )
        data = InboundReleaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.inbound_release(
            actor=request.user, case=case, released_at=data.validated_data.get("released_at")
        )
        return _answer(request, case, status.HTTP_200_OK, screen=Screen.api(_("接口：社区解除观察")))


class RawFeedParser(parsers.BaseParser):
    """The feed file sent as the request body; decoded by entrants.feed, not here."""

    def parse(self, stream, media_type=None, parser_context=None):
        if stream is None:
            return b""
        # One byte over the limit is enough for the feed to report the file as too large.
        return stream.read(feed.MAX_BYTES + 1)


class CsvFeedParser(RawFeedParser):
    media_type = "text/csv"


class JsonLinesFeedParser(RawFeedParser):
    media_type = "application/x-ndjson"


class FeedImportResult(serializers.Serializer):
    accepted = serializers.IntegerField()


class InboundImportView(APIView):
    permission_classes = [IsStaff]
    parser_classes = [parsers.MultiPartParser, CsvFeedParser, JsonLinesFeedParser]

    @extend_schema(
        request={
            "multipart/form-data": OpenApiTypes.OBJECT,
            "text/csv": OpenApiTypes.STR,
            "application/x-ndjson": OpenApiTypes.STR,
        },
        responses={201: FeedImportResult},
        summary="批量导入边检数据（CSV 或 JSON Lines，全部校验通过才写入）",
    )
    def post(self, request):
        require_kind(request.user, BORDER)
        content, feed_format = self._content(request)
        try:
            accepted = feed.feed_import(actor=request.user, content=content, feed_format=feed_format)
        except feed.FeedRejected as rejected:
            return Response(rejected.payload(), status=status.HTTP_400_BAD_REQUEST)
        return Response({"accepted": accepted}, status=status.HTTP_201_CREATED)

    def _content(self, request) -> tuple[bytes, str]:
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        if media_type in (CsvFeedParser.media_type, JsonLinesFeedParser.media_type):
            # DRF gives an empty body as {} whatever the parser: it is an empty file.
            body = request.data if isinstance(request.data, bytes) else b""
            return body, feed.format_of_media_type(media_type)
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError(
                {"file": [_("请上传文件（字段名 file），或以 text/csv、application/x-ndjson 发送请求体。")]}
            )
        if upload.size > feed.MAX_BYTES:
            raise serializers.ValidationError({"file": [feed.TOO_LARGE]})
        feed_format = (
            request.data.get("format")
            or feed.format_of_name(upload.name)
            or feed.format_of_media_type((upload.content_type or "").lower())
        )
        if feed_format not in feed.FORMATS:
            raise serializers.ValidationError({"format": [_("无法识别文件格式，请指定 format=csv 或 jsonl。")]})
        return upload.read(), feed_format
