"""The public keys that have signed passes: published until the last pass a key signed has expired."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PassKey(models.Model):
    """One signing key's public half (P-256), by key id; the private half never enters the database.

    A key is published from `created_at`; once a newer key signs (`retired_at`) it stays published
    until the longest pass it may have signed has expired (`valid_to`); `revoked_at` removes it at once.
    """

    kid = models.CharField(_("密钥标识"), max_length=16, unique=True)
    x = models.CharField(_("公钥 x"), max_length=64)
    y = models.CharField(_("公钥 y"), max_length=64)
    created_at = models.DateTimeField(_("启用时间"))
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("凭证签名公钥")
        verbose_name_plural = _("凭证签名公钥")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.kid

    @property
    def valid_to(self) -> datetime | None:
        if self.retired_at is None:
            return None
        return self.retired_at + timedelta(seconds=settings.PASS_TTL + settings.PASS_ROTATION_GRACE)
