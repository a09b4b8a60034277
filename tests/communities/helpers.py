"""Shared set-up for the communities tests, through the same services users call."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from communities.services import community_create, quarantine_register
from tests import factories


def community(code: str = "C-1", region_code: str = "110105"):
    return community_create(code=code, name=f"社区{code}", region_code=region_code)


def register(community, *, actor=None, name: str = "张三", number: str | None = None, kind: str = "home",
             started_at=None, planned_end_at=None):
    return quarantine_register(
        actor=actor,
        community=community,
        person_name=name,
        id_number=number or factories.id_number(),
        kind=kind,
        started_at=started_at or timezone.now() - timedelta(days=3),
        planned_end_at=planned_end_at,
    )
