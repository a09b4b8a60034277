"""Shared set-up of the staff-experience tests: logged-in admin clients and data made through the services."""
from __future__ import annotations

from django.test import Client, TestCase

from health.services.statuses import person_status_fresh


class CommittingClient(Client):
    """Each request's on-commit callbacks run when it returns, as after a real commit (recomputes included)."""

    def request(self, **request):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().request(**request)


def logged_in(user, *, language: str | None = None) -> Client:
    client = CommittingClient(HTTP_ACCEPT_LANGUAGE=language) if language else CommittingClient()
    client.force_login(user)
    return client


def fresh(person_or_id):
    """The person's status, recomputed now if it is dirty (the test transaction never commits)."""
    return person_status_fresh(getattr(person_or_id, "pk", person_or_id))


def hotel_guest(desk, hotel, name: str, *, hours_ago: float = 5, health_management_accepted: bool = True, nat_tests=()):
    """A guest checked in by `desk` at `hotel` `hours_ago` from Chaoyang (110105), through the service."""
    from datetime import timedelta

    from django.utils import timezone

    from hotels.services import checkin_register
    from tests import factories

    return checkin_register(
        actor=desk,
        hotel=hotel,
        person_name=name,
        id_number=factories.id_number(),
        checked_in_at=timezone.now() - timedelta(hours=hours_ago),
        origin_region_code="110105",
        health_management_accepted=health_management_accepted,
        nat_tests=list(nat_tests),
    )


def inbound_case(border, name: str, *, days_ago: int = 10, **fields):
    """A traveller registered by `border` at the capital airport from France `days_ago` days ago, through the service."""
    from datetime import timedelta

    from django.utils import timezone

    from entrants.services import inbound_register
    from tests import factories

    return inbound_register(
        actor=border,
        person_name=name,
        id_number=factories.id_number(),
        entered_country_on=timezone.localdate() - timedelta(days=days_ago),
        port="北京首都国际机场",
        origin_country="FR",
        **fields,
    )
