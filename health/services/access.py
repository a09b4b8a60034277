"""Reads of a status: staff reads (each audited: who, when, through what, why) and the public's own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from health import replicas
from health.engine.rules import evaluate_unknown
from health.identity import digest_or_none, name_key
from health.models import HealthStatus, Person, PersonAlias, StatusAccess
from health.prepared import Prepared
from health.redaction import identity_numbers_redact
from health.selectors import user_is_admin, user_organisation
from health.services.statuses import person_status_fresh, policy_current, status_is_stale


class Channel:
    API = "api"
    ADMIN = "admin"


# An administrator acts for no organisation: the snapshot names the role (stored as data, not translated).
ADMINISTRATOR = "admin"


def reader_snapshot(user: AbstractBaseUser) -> dict[str, str]:
    """Who the reader is right now, in words that stay as they are: username, organisation, its kind."""
    if user_is_admin(user):
        return {"username": user.get_username(), "organisation_name": "管理员", "organisation_kind": ADMINISTRATOR}
    organisation = user_organisation(user)
    if organisation is None:
        return {"username": user.get_username(), "organisation_name": "", "organisation_kind": ""}
    return {
        "username": user.get_username(),
        "organisation_name": f"{organisation.name} ({organisation.code})"[:200],
        "organisation_kind": organisation.kind,
    }


@transaction.atomic
def status_access_record(*, user: AbstractBaseUser, person: Person, channel: str, purpose: str = "") -> StatusAccess:
    access = StatusAccess(
        user=user,
        person=person,
        channel=channel,
        # Staff write the number they looked up into the purpose too: never stored.
        purpose=identity_numbers_redact(purpose or "")[:255],
        **reader_snapshot(user),
    )
    access.full_clean()
    access.save()
    return access


def status_accesses_record(
    *, user: AbstractBaseUser, person_ids: Sequence[int], channel: str, purpose: str = ""
) -> int:
    """One bulk insert of access rows for a list of persons shown at once (a page, a preview)."""
    rows = [StatusAccess(user=user, person_id=pk, channel=channel, purpose=(purpose or "")[:255]) for pk in person_ids]
    StatusAccess.objects.bulk_create(rows)
    return len(rows)


def person_status_read(*, user: AbstractBaseUser, person: Person, channel: str, purpose: str = "") -> HealthStatus:
    """The person's fresh status for a staff member, with the access written first.

    The audit row is committed before the status is served, so a read that is answered is
    always on record (a failed recomputation still leaves the attempt in the log).
    """
    status_access_record(user=user, person=person, channel=channel, purpose=purpose)
    return person_status_fresh(person.pk)


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
    decision = evaluate_unknown(now=now, policy=policy_current())
    return _unsaved_status(status=decision.status, reasons=decision.reasons, valid_until=decision.valid_until, now=now)


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
_STATUS_FIELDS = ["person_id", "status", "reasons", "valid_until", "computed_at", "dirty"]
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
