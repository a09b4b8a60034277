"""Risk-area designations of regions: each create or change fans out to everyone with a place touching it."""
from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from health.models import Organisation, Region, RiskArea
from health.services.designations import ensure_not_withdrawn, health_department, withdrawal_reason_clean
from health.services.statuses import region_risk_changed


def _ensure_ends_after_start(effective_from: datetime, effective_to: datetime | None) -> None:
    # The table's constraint is strict: a designation of no duration would mean nothing.
    if effective_to is not None and effective_to <= effective_from:
        raise ValidationError({"effective_to": [_("解除时间必须晚于生效时间。")]})


@transaction.atomic
def risk_area_create(
    *,
    actor: AbstractBaseUser | None,
    region: Region,
    level: str,
    effective_from: datetime,
    effective_to: datetime | None = None,
    organisation: Organisation | None = None,
) -> RiskArea:
    _ensure_ends_after_start(effective_from, effective_to)
    risk_area = RiskArea(
        region=region,
        level=level,
        effective_from=effective_from,
        effective_to=effective_to,
        organisation=organisation or health_department(),
        created_by=actor,
    )
    risk_area.full_clean()
    risk_area.save()
    region_risk_changed(region.code)
    return risk_area


@transaction.atomic
def risk_area_update(
    *,
    actor: AbstractBaseUser | None,
    risk_area: RiskArea,
    effective_to: datetime | None,
    level: str | None = None,
    effective_from: datetime | None = None,
) -> RiskArea:
    """Change a designation (usually: set its end). Persons of the region are recomputed."""
    risk_area = RiskArea.objects.select_for_update().get(pk=risk_area.pk)
    ensure_not_withdrawn(risk_area, field="effective_to")
    if level is not None:
        risk_area.level = level
    if effective_from is not None:
        risk_area.effective_from = effective_from
    _ensure_ends_after_start(risk_area.effective_from, effective_to)
    risk_area.effective_to = effective_to
    risk_area.full_clean()
    risk_area.save()
    region_risk_changed(risk_area.region_id)
    return risk_area


@transaction.atomic
def risk_area_withdraw(*, actor: AbstractBaseUser | None, risk_area: RiskArea, reason: str) -> RiskArea:
    """Withdraw (撤销) a designation published in error: unlike an end (解除), it never existed for the rules.

    The record stays, with who withdrew it, when and why; everyone it could reach is recomputed.
    """
    reason = withdrawal_reason_clean(reason)
    risk_area = RiskArea.objects.select_for_update().get(pk=risk_area.pk)
    ensure_not_withdrawn(risk_area, field="reason")
    risk_area.withdrawn_at = timezone.now()
    risk_area.withdrawn_by = actor
    risk_area.withdrawal_reason = reason
    risk_area.full_clean()
    risk_area.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
    region_risk_changed(risk_area.region_id, cause="risk_area_withdrawn")
    return risk_area
