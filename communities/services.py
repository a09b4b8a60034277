"""Every write of the communities app: communities, quarantine registration, planned-end changes, lifts."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from communities.models import Community, PlannedEndChange, QuarantineRecord
from health import timebounds
from health.errors import ApplicationError, NotAllowed, NotVisible
from health.identity import Document, document_of
from health.models import Organisation, Person
from health.selectors import user_is_admin, user_organisation
from health.services.organisations import organisation_create
from health.services.persons import person_resolve
from health.services.statuses import persons_mark_dirty

# Times are checked against the bounds every entry point shares (health.timebounds), as in the API.


class AlreadyLifted(ApplicationError):
    """Lifting a quarantine that is already lifted (400; nothing changes)."""

    default_message = _("该隔离记录已解除，不能重复解除。")


# --- who may act ---------------------------------------------------------------------------
def _ensure_may_act(actor, community_id: int) -> None:
    """A community's records are changed by its own staff or an administrator (None = the system)."""
    if actor is None or user_is_admin(actor):
        return
    organisation = user_organisation(actor)
    if organisation is None or organisation.kind != Organisation.Kind.COMMUNITY:
        raise NotAllowed()
    if organisation.pk != community_id:
        raise NotVisible()


def _ensure_past(moment: datetime, *, field: str) -> None:
    if errors := timebounds.past_time_errors(moment):
        raise ValidationError({field: errors})


# --- communities ---------------------------------------------------------------------------
def community_create(*, code: str, name: str, region_code: str, actor=None) -> Community:
    """A new community (an organisation of kind community); its code is unique among communities."""
    return organisation_create(
        kind=Organisation.Kind.COMMUNITY, code=code, name=name, region_code=region_code, actor=actor, model=Community
    )


# --- quarantines ---------------------------------------------------------------------------
@transaction.atomic
def quarantine_register(
    *,
    actor,
    community: Organisation,
    person_name: str,
    id_number: str | Document,
    kind: str,
    started_at: datetime,
    planned_end_at: datetime | None = None,
) -> QuarantineRecord:
    """Register a quarantine; the person is found or created by ID number and marked dirty."""
    if community.kind != Organisation.Kind.COMMUNITY:
        raise ValidationError({"community": [_("只能登记到社区。")]})
    _ensure_may_act(actor, community.pk)
    errors: dict[str, list] = {}
    try:
        id_number = document_of(id_number)
    except ValidationError as error:
        errors["id_number"] = error.messages
    if kind not in QuarantineRecord.Kind.values:
        errors["kind"] = [_("隔离方式无效。")]
    if started_errors := timebounds.past_time_errors(started_at):
        errors["started_at"] = started_errors
    if planned_end_at is not None and (planned_errors := timebounds.planned_time_errors(planned_end_at)):
        errors["planned_end_at"] = planned_errors
    elif planned_end_at is not None and planned_end_at < started_at:
        errors["planned_end_at"] = [_("计划解除时间不能早于开始时间。")]
    if errors:
        raise ValidationError(errors)
    person = person_resolve(name=person_name, id_number=id_number)
    if QuarantineRecord.objects.filter(person=person, community=community, kind=kind, lifted_at__isnull=True).exists():
        raise ValidationError({"kind": [_("该人员在本社区已有同类未解除的隔离记录。")]})
    record = QuarantineRecord(
        person=person,
        community=community,
        kind=kind,
        started_at=started_at,
        planned_end_at=planned_end_at,
        created_by=actor,
    )
    record.full_clean()
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:  # the same quarantine registered concurrently
        raise ValidationError({"kind": [_("该人员在本社区已有同类未解除的隔离记录。")]}) from None
    persons_mark_dirty([person.pk], cause="quarantine_registered")
    return record


@transaction.atomic
def quarantine_change_planned_end(
    *, actor, record: QuarantineRecord, planned_end_at: datetime | None, comment: str
) -> QuarantineRecord:
    """Extend or shorten the planned end of an active quarantine, keeping who, when, old, new and why."""
    _ensure_may_act(actor, record.community_id)
    record = QuarantineRecord.objects.select_for_update().get(pk=record.pk)
    comment = " ".join(str(comment or "").split())
    errors: dict[str, list] = {}
    if record.lifted_at is not None:
        errors["planned_end_at"] = [_("已解除的隔离不能修改计划解除时间。")]
    elif planned_end_at is not None and (planned_errors := timebounds.planned_time_errors(planned_end_at)):
        errors["planned_end_at"] = planned_errors
    elif planned_end_at is not None and planned_end_at < record.started_at:
        errors["planned_end_at"] = [_("计划解除时间不能早于开始时间。")]
    if not comment:
        errors["comment"] = [_("请说明修改原因。")]
    if errors:
        raise ValidationError(errors)
    if planned_end_at == record.planned_end_at:
        return record
    now = timezone.now()
    change = PlannedEndChange(
        record=record,
        old_planned_end_at=record.planned_end_at,
        new_planned_end_at=planned_end_at,
        changed_by=actor,
        changed_at=now,
        comment=comment[:255],
    )
    change.full_clean()
    change.save()
    record.planned_end_at = planned_end_at
    record.full_clean()
    record.save(update_fields=["planned_end_at", "updated_at"])
    # planned_end_at is informational for the rules; marking keeps every write on one path.
    persons_mark_dirty([record.person_id], cause="quarantine_planned_end_changed")
    return record


def _lift(queryset, *, actor, lifted_at: datetime, cause: str) -> list[int]:
    """Lift the not-yet-lifted records of `queryset` at `lifted_at`; the pks lifted (inside a transaction)."""
    # Locked first (PostgreSQL re-checks `lifted_at IS NULL` after waiting on a concurrent lift),
    # then updated with the same condition, so a record is lifted once even under a race.
    candidates = list(
        queryset.select_for_update().filter(lifted_at__isnull=True).values_list("pk", "person_id", "community_id")
    )
    if not candidates:
        return []
    for community_id in {community_id for _pk, _person, community_id in candidates}:
        _ensure_may_act(actor, community_id)
    pks = [pk for pk, _person, _community in candidates]
    person_ids = {person_id for _pk, person_id, _community in candidates}
    updated = 0
    for start in range(0, len(pks), 5000):
        updated += QuarantineRecord.objects.filter(pk__in=pks[start : start + 5000], lifted_at__isnull=True).update(
            lifted_at=lifted_at, lifted_by=actor, updated_at=timezone.now()
        )
    if updated != len(pks):  # only reachable without row locks: someone lifted a record meanwhile
        raise AlreadyLifted()
    persons_mark_dirty(person_ids, cause=cause)
    return pks


@transaction.atomic
def quarantines_lift(*, actor, records_or_ids: Iterable[QuarantineRecord | int], lifted_at: datetime | None = None) -> list[int]:
    """Lift many quarantines at once: one transaction, one dirty mark for all their persons.

    Records already lifted are skipped (the pks actually lifted are returned); a lift before a
    record's start is a 400 and nothing is lifted.
    """
    lifted_at = lifted_at or timezone.now()
    _ensure_past(lifted_at, field="lifted_at")
    pks = sorted({item.pk if isinstance(item, QuarantineRecord) else int(item) for item in records_or_ids})
    if not pks:
        return []
    queryset = QuarantineRecord.objects.filter(pk__in=pks)
    if queryset.filter(lifted_at__isnull=True, started_at__gt=lifted_at).exists():
        raise ValidationError({"lifted_at": [_("解除时间不能早于开始时间。")]})
    return _lift(queryset, actor=actor, lifted_at=lifted_at, cause="quarantine_lifted")


@transaction.atomic
def quarantine_lift(*, actor, record: QuarantineRecord, lifted_at: datetime | None = None) -> QuarantineRecord:
    """Lift one quarantine; lifting it again is a 400 and changes nothing."""
    _ensure_may_act(actor, record.community_id)
    lifted_at = lifted_at or timezone.now()
    _ensure_past(lifted_at, field="lifted_at")
    current = QuarantineRecord.objects.filter(pk=record.pk).values_list("lifted_at", "started_at").first()
    if current is None:
        raise NotVisible()
    if current[0] is not None:
        raise AlreadyLifted()
    if lifted_at < current[1]:
        raise ValidationError({"lifted_at": [_("解除时间不能早于开始时间。")]})
    if not _lift(QuarantineRecord.objects.filter(pk=record.pk), actor=actor, lifted_at=lifted_at, cause="quarantine_lifted"):
        raise AlreadyLifted()  # lifted by a concurrent request between the read and the lock
    return QuarantineRecord.objects.select_related("person", "community").get(pk=record.pk)


@transaction.atomic
def quarantines_lift_for_person(*, actor, person: Person, community: Organisation, lifted_at: datetime) -> list[int]:
    """Lift, at `lifted_at`, every quarantine of this person in this community active at that moment.

    Called when a community's release of the person's inbound case is recorded
    (status-rules.md, Releases): it writes `lifted_at` on the records that exist now, are not
    lifted and had started by `lifted_at`. A quarantine that started after it is left as it is
    (the release cannot end what began after it), and a quarantine registered later is never
    touched: a record ends only by its own lift. Returns the pks lifted (possibly none).
    """
    queryset = QuarantineRecord.objects.filter(person=person, community=community, started_at__lte=lifted_at)
    return _lift(queryset, actor=actor, lifted_at=lifted_at, cause="inbound_released")


def quarantines_lift_on_release(*, actor, person: Person, community: Organisation, released_at: datetime) -> list[int]:
    """The release effect this app registers with the core (health.registry): lift at `released_at`."""
    return quarantines_lift_for_person(actor=actor, person=person, community=community, lifted_at=released_at)


@transaction.atomic
def quarantines_delete(*, actor, records_or_ids: Iterable[QuarantineRecord | int]) -> int:
    """Administrators only: remove records entered by mistake; their persons are recomputed."""
    if actor is not None and not user_is_admin(actor):
        raise NotAllowed()
    pks = sorted({item.pk if isinstance(item, QuarantineRecord) else int(item) for item in records_or_ids})
    queryset = QuarantineRecord.objects.filter(pk__in=pks)
    person_ids = set(queryset.values_list("person_id", flat=True))
    deleted, _counts = queryset.delete()
    persons_mark_dirty(person_ids, cause="quarantine_deleted")
    return deleted
