"""Reads of the entrants app: which inbound cases a staff account may see."""

from datetime import timedelta

from django.db.models import F, QuerySet

from entrants.models import InboundCase
from health.models import Organisation
from health.selectors import user_is_admin, user_organisation


def inbound_cases_held_by(organisation: Organisation | None) -> QuerySet[InboundCase]:
    """The border department holds every case (it registered them); a community the cases it manages."""
    if organisation is None:
        return InboundCase.objects.none()
    if organisation.kind == Organisation.Kind.BORDER:
        return InboundCase.objects.all()
    if organisation.kind == Organisation.Kind.COMMUNITY:
        return InboundCase.objects.filter(managing_community=organisation)
    return InboundCase.objects.none()


def inbound_cases_visible_to(user) -> QuerySet[InboundCase]:
    if user_is_admin(user):
        return InboundCase.objects.all()
    return inbound_cases_held_by(user_organisation(user))


def inbound_cases_awaiting_release(queryset: QuerySet[InboundCase]) -> QuerySet[InboundCase]:
    """Handed to a community and not yet released by it."""
    return queryset.filter(managing_community__isnull=False, released_at__isnull=True)


def inbound_cases_late(queryset: QuerySet[InboundCase], *, grace_days: int) -> QuerySet[InboundCase]:
    """Not under a community, and came to Beijing more than `grace_days` after their quarantine ended."""
    return queryset.filter(
        managing_community__isnull=True,
        quarantine_ended_on__isnull=False,
        entered_city_on__gt=F("quarantine_ended_on") + timedelta(days=grace_days),
    )
