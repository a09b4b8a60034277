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
