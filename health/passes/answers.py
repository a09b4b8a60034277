"""The pass inside the public status answers: the payload both the DRF views and the fast path render."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from health.api.common import StatusSerializer, status_payload
from health.identity import Document
from health.models import HealthStatus

from .issue import pass_for


def public_status_payload(
    health_status: HealthStatus, *, name: str, id_number: str | Document, id_digest: str, with_pass: bool
) -> dict:
    """`status_payload` and the answer's pass: only when the request asks for it (`"pass": true`), since
    a new pass costs more CPU than the rest of the query; None otherwise, or when no key may sign
    (docs/pass.md). Asked again for the same answer, the pass is the one already signed."""
    issued = pass_for(health_status, name=name, id_number=id_number, id_digest=id_digest) if with_pass else None
    return status_payload(health_status) | {"pass": issued.answer() if issued is not None else None}


class PassRequestField(serializers.BooleanField):
    """`"pass": true` asks for the signed pass; a JSON boolean only (`"yes"`, 1 or null are a 400, where
    DRF's BooleanField would take them): the fast path of the query takes exactly the same."""

    default_error_messages = {"invalid": _("必须是 true 或 false。")}

    def to_internal_value(self, data):
        if type(data) is not bool:
            self.fail("invalid")
        return data


class PassRequestSerializer(serializers.Serializer):
    """A public status request's optional `pass` (a keyword, hence get_fields), default false."""

    def get_fields(self):
        fields = super().get_fields()
        fields["pass"] = PassRequestField(
            required=False,
            default=False,
            write_only=True,
            label="pass",
            help_text=_("为 true 时，答复附带签名的通行凭证"),
        )
        return fields


class PassSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="HK1:… (docs/pass.md): CWT, COSE ES256, zlib, Base45")
    expires_at = serializers.DateTimeField()
    qr_svg = serializers.CharField(help_text="URL of the pass's QR code (SVG, error correction M)")


class PublicStatusSerializer(StatusSerializer):
    """The public status answer: the contract's status answer and `pass` (a keyword, hence get_fields)."""

    def get_fields(self):
        fields = super().get_fields()
        fields["pass"] = PassSerializer(allow_null=True, label="pass")
        return fields
