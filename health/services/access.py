"""Reads of a status: staff reads (each audited: who, when, through what, why) and the public's own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

from health import replicas, status_reads
from health.engine.rules import evaluate_unknown
from health.identity import digest_or_none, name_key
from health.models import HealthStatus, Person, PersonAlias, StatusAccess
from health.prepared import Prepared
from health.services.statuses import person_status_fresh, policy_current, status_is_stale

# The staff reads live in health/status_reads.py (the one audited read); these names stay for callers.
Channel = status_reads.Channel
ADMINISTRATOR = status_reads.ADMINISTRATOR
reader_snapshot = status_reads.reader_snapshot


def status_access_record(
    *,
    user: AbstractBaseUser,
    person: Person,
    screen: status_reads.Screen | None = None,
    channel: str | None = None,
    purpose: str = "",
) -> StatusAccess:
    """One person's access row (a screen, or only a channel for a read that names no screen)."""
    screen = screen or status_reads.Screen(channel or Channel.ADMIN, "")
    status_reads.accesses_record(user=user, person_ids=[person.pk], screen=screen, purpose=purpose)
    return StatusAccess.objects.filter(user=user, person=person).order_by("-pk").first()


def person_status_read(
    *, user: AbstractBaseUser, person: Person, screen: status_reads.Screen, purpose: str = ""
) -> HealthStatus:
    """The person's fresh status for a staff member, with the access written first.

    The audit row is committed before the status is served, so a read that is answered is
    always on record (a failed recomputation still leaves the attempt in the log).
    """
    return status_reads.status_for_staff(user=user, person_id=person.pk, screen=screen, purpose=purpose)


# --- the public's own reads ------------------------------------------------------------------
def _unsaved_status(
    *, status: str, reasons: Sequence[str], valid_until: datetime | None, now: datetime
) -> HealthStatus:
    # The same model the stored answers come from, so both render through one serializer.
    return HealthStatus(status=status, reasons=list(reasons), valid_until=valid_until, computed_at=now)


def status_of_stranger(*, now: datetime | None = None) -> HealthStatus:
    """What a person with no data gets: the answer for an unknown ID number, or a known one with
    another name, on every public endpoint (api.md). It reveals nothing."""
    now = now or timezone.now()
    policy = policy_current()
    decision = evaluate_unknown(now=now, policy=policy)
    status = _unsaved_status(status=decision.status, reasons=decision.reasons, valid_until=decision.valid_until, now=now)
    status.policy_version = policy.version  # carried by the answer's pass, like a stored status's
    return status


def person_matching(*, name: str, id_number: str) -> Person | None:
    """The person with this ID number and this very name (one indexed lookup), else None."""
    digest = digest_or_none(id_number)
    if digest is None:
        return None
    person = Person.objects.filter(id_digest=digest).first()
    if person is None or name_key(person.name) != name_key(name):
        # A merged document (the same work for an unknown number and another name).
        alias = PersonAlias.objects.filter(digest=digest).select_related("person").first()
        return alias.person if alias is not None and name_key(alias.name) == name_key(name) else None
    return person


def status_public(*, name: str, id_number: str) -> HealthStatus:
    """A resident's own status, fresh; a stranger's answer when the number and name do not match."""
    digest = digest_or_none(id_number)
    if digest is None:
        return status_of_stranger()
    return status_public_by_digest(name=name, id_digest=digest)


# What the public answer and the staleness check read of the status row, and its person's name, by
# digest: one indexed join, compiled once (prepared.py). The instance made from it has only these
# fields loaded (any other would be read with a query of its own): it is answered, never saved.
_STATUS_FIELDS = ["person_id", "status", "reasons", "valid_until", "computed_at", "policy_version", "dirty"]  # in the model's field order (from_db)
_STATUS_BY_DIGEST = Prepared(
    lambda digest: (
        # From the person, the status row outer-joined: an unknown number, a known one with another name
        # and a person without a status row all cost this one query (the same work: timing tells nothing).
        Person.objects.filter(id_digest=digest)
        .order_by()
        .values_list("pk", *(f"health_status__{field}" for field in _STATUS_FIELDS[1:]), "name")[:1]
    )
)


def status_public_by_digest(*, name: str, id_digest: str) -> HealthStatus:
    """`status_public` for a number already validated and digested: one indexed query when the row is fresh.

    The person's name and status row come in one join on the digest, whether or not the number is
    known; only a dirty, never computed or expired row goes through `person_status_fresh`
    (recomputed there, never served stale).
    """
    now = timezone.now()
    found = replicas.read(
        lambda alias: _STATUS_BY_DIGEST.rows(id_digest, using=alias), alias=replicas.read_alias_for(id_digest)
    )
    if not found or name_key(found[0][-1]) != name_key(name):
        # A document left by a merge leads to the kept person, under the name registered with it. Looked
        # up for an unknown number and for a known one with another name alike: the same work for both.
        alias = PersonAlias.objects.filter(digest=id_digest).values_list("person_id", "name").first()
        if alias is not None and name_key(alias[1]) == name_key(name):
            return person_status_fresh(alias[0], now=now)
        return status_of_stranger(now=now)
    *values, _stored_name = found[0]
    if values[1] is None:
        # No status row (not expected: a person is created with one): computed now.
        return person_status_fresh(values[0])
    status = HealthStatus.from_db(DEFAULT_DB_ALIAS, _STATUS_FIELDS, values)
    if status_is_stale(status, now=now):
        return person_status_fresh(status.person_id, now=now)
    return status
