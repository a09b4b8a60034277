"""The pass inside the public status answers: the payload both the DRF views and the fast path render."""
from __future__ import annotations

from rest_framework import serializers

from health.api.common import StatusSerializer, status_payload
from health.identity import Document
from health.models import HealthStatus

from .issue import pass_for


def public_status_payload(health_status: HealthStatus, *, name: str, id_number: str | Document, id_digest: str) -> dict:
    """`status_payload` and the answer's pass (None when no key may sign: docs/pass.md)."""
    issued = pass_for(health_status, name=name, id_number=id_number, id_digest=id_digest)
    return status_payload(health_status) | {"pass": issued.answer() if issued is not None else None}


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
