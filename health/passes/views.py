"""The pass endpoints: the public keys, a pass's QR code, the online check, and the offline verify page."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_control
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from health.api.common import status_payload
from health.api.throttling import PublicAddressThrottle
from health.api.views import PUBLIC_ERRORS, PublicView, _valid

from . import services
from .verify import TEXT_MAX

DAY = 24 * 3600


class KeyOutputSerializer(serializers.Serializer):
    kid = serializers.CharField(help_text="base64url of the 8-byte COSE kid")
    jwk = serializers.DictField(help_text="the public key as a JWK (EC P-256, ES256)")
    valid_from = serializers.DateTimeField()
    valid_to = serializers.DateTimeField(allow_null=True)


class KeysOutputSerializer(serializers.Serializer):
    issuer = serializers.CharField()
    fetched_at = serializers.DateTimeField()
    keys = KeyOutputSerializer(many=True)


class PassKeysView(APIView):
    """The public keys passes are signed with (anyone; cacheable for a day)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicAddressThrottle]

    @extend_schema(tags=["passes"], summary=_("凭证签名公钥列表"), responses={200: KeysOutputSerializer}, auth=[])
    def get(self, request):
        response = Response(KeysOutputSerializer(services.keys_document()).data)
        response["Cache-Control"] = f"public, max-age={DAY}"
        return response


class PassQrView(APIView):
    """`GET ?t=HK1:…` -> the pass's QR code as SVG (error correction M); only for a pass of ours."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [PublicAddressThrottle]

    @extend_schema(
        tags=["passes"],
        summary=_("凭证二维码（SVG）"),
        parameters=[OpenApiParameter("t", str, description="the pass text (HK1:…)", required=True)],
        responses={(200, "image/svg+xml"): OpenApiResponse(description="SVG"), 400: PUBLIC_ERRORS[400]},
        auth=[],
    )
    def get(self, request):
        text = request.query_params.get("t", "")
        verified = services.verify_text(text)
        if not verified.authentic:
            return Response({"t": [_("不是有效的通行凭证。")]}, status=400)
        response = HttpResponse(services.qr_svg(text), content_type="image/svg+xml")
        # The image of a pass never changes: kept by the browser until the pass expires.
        remaining = max(0, int((verified.expires_at - services.now()).total_seconds()))
        response["Cache-Control"] = f"private, max-age={remaining}"
        return response


class TextField(serializers.CharField):
    """A JSON string only (DRF's CharField would take 5 as "5")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CheckInputSerializer(serializers.Serializer):
    text = TextField(max_length=TEXT_MAX, label=_("凭证内容"))


class CheckedPassSerializer(serializers.Serializer):
    status = serializers.CharField()
    label = serializers.CharField()
    name = serializers.CharField(help_text="masked")
    id_masked = serializers.CharField()
    policy_version = serializers.IntegerField()
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class CurrentStatusSerializer(serializers.Serializer):
    status = serializers.CharField()
    label = serializers.CharField()
    valid_until = serializers.DateTimeField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)


class CheckOutputSerializer(serializers.Serializer):
    authentic = serializers.BooleanField(help_text="signed by one of our published keys")
    valid = serializers.BooleanField(help_text="authentic and not expired")
    refusal = serializers.CharField(allow_null=True, help_text="malformed | unknown_key | revoked_key | forged | expired")
    current = CurrentStatusSerializer(allow_null=True, help_text="the holder's status now (valid passes only)")

    def get_fields(self):
        fields = super().get_fields()
        fields["pass"] = CheckedPassSerializer(allow_null=True, label="pass")
        return fields


class PassCheckView(PublicView):
    throttle_classes = [PublicAddressThrottle]

    @extend_schema(
        tags=["passes"],
        summary=_("在线核验通行凭证"),
        request=CheckInputSerializer,
        responses={200: CheckOutputSerializer, **PUBLIC_ERRORS},
        auth=[],
    )
    def post(self, request):
        data = _valid(CheckInputSerializer, request)
        verified, current = services.check(data["text"])
        answer = {
            "authentic": verified.authentic,
            "valid": verified.ok,
            "refusal": verified.refusal,
            "pass": services.claims_shown(verified) if verified.authentic else None,
            "current": status_payload(current) if current is not None else None,
        }
        return Response(CheckOutputSerializer(answer).data)


# --- the verify page (no login; works offline through its service worker) ---------------------------------
def verify_page(request):
    return render(
        request,
        "passes/verify.html",
        {"bundle": static("passes/verify.js"), "keys_url": "/api/v1/passes/keys/", "issuer": settings.PASS_ISSUER},
    )


@cache_control(no_cache=True)
def service_worker(request):
    """Served under /verify/ so that its scope is the page; it caches the page, the script and the keys."""
    script = render(request, "passes/sw.js", {"bundle": static("passes/verify.js")}, content_type="text/javascript")
    script["Service-Worker-Allowed"] = "/verify/"
    return script
