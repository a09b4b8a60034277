"""Risk-area designations of regions: each create or change fans out to everyone with a place touching it."""
from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from health.models import Organisation, Region, RiskArea
from health.services.designations import health_department
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
