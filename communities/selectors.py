"""Every read of the communities app: what a staff account may see, for the admin, the API and tests."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from communities.models import Community, PlannedEndChange, QuarantineRecord
from health.models import Organisation
from health.selectors import user_is_admin, user_organisation


def communities_visible_to(user) -> QuerySet[Community]:
    if user_is_admin(user):
        return Community.objects.all()
    organisation = user_organisation(user)
    if organisation is None or organisation.kind != Organisation.Kind.COMMUNITY:
        return Community.objects.none()
    return Community.objects.filter(pk=organisation.pk)


def quarantines_visible_to(user) -> QuerySet[QuarantineRecord]:
    """Administrators see every record; a community's staff only their community's (one indexed column)."""
    queryset = QuarantineRecord.objects.select_related("person", "community")
    if user_is_admin(user):
        return queryset
    organisation = user_organisation(user)
    if organisation is None or organisation.kind != Organisation.Kind.COMMUNITY:
        return queryset.none()
    return queryset.filter(community_id=organisation.pk)


def quarantine_list(*, user, community: Organisation, active: bool | None = None) -> QuerySet[QuarantineRecord]:
    queryset = quarantines_visible_to(user).filter(community_id=community.pk)
    if active is not None:
        queryset = queryset.filter(lifted_at__isnull=active)
    return queryset.order_by("-started_at", "-pk")


def beijing_day_start(day) -> datetime:
    """00:00 of a calendar day in the project's time zone (Asia/Shanghai)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def quarantines_due_today(queryset: QuerySet[QuarantineRecord], *, today=None) -> QuerySet[QuarantineRecord]:
    """Not lifted and planned to end during today (Beijing), whether or not that hour has passed."""
    today = today or timezone.localdate()
    return queryset.filter(
        lifted_at__isnull=True,
        planned_end_at__gte=beijing_day_start(today),
        planned_end_at__lt=beijing_day_start(today + timedelta(days=1)),
    )


def quarantines_overdue(queryset: QuerySet[QuarantineRecord], *, today=None) -> QuerySet[QuarantineRecord]:
    """Not lifted and planned to end before today (Beijing): a day or more late."""
    today = today or timezone.localdate()
    return queryset.filter(lifted_at__isnull=True, planned_end_at__lt=beijing_day_start(today))


def planned_end_history(record: QuarantineRecord) -> QuerySet[PlannedEndChange]:
    return PlannedEndChange.objects.filter(record_id=record.pk).select_related("changed_by").order_by("-changed_at", "-pk")
