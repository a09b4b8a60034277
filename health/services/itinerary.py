"""Itineraries: the platform's stays (bulk, all or nothing, idempotent) and a person's own declaration."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from health.errors import PersonConflict
from health.identity import id_number_clean, id_number_digest, id_number_mask
from health.models import HealthStatus, ItineraryDeclaration, ItineraryStay, Organisation, Person, Region
from health.selectors import user_organisation
from health.services.persons import person_resolve
from health.services.statuses import persons_mark_dirty

STAYS_MAX = 10_000
DECLARATION_REGIONS_MAX = 50


def name_normalise(name: str) -> str:
    """The same folding of whitespace as person_resolve, so that both paths agree on "another name"."""
    return " ".join(str(name).split())


@dataclass(frozen=True)
class StayInput:
    name: str
    id_number: str
    region_code: str
    arrived_at: datetime
    left_at: datetime | None = None


class StaysPersonConflict(PersonConflict):
    """Rows whose name contradicts a known ID number (or another row of the same feed); 409 with the rows."""

    def __init__(self, rows: Sequence[int]) -> None:
        super().__init__(field="stays")
        self.rows = list(rows)
        self.body = {"stays": {str(row): {"person": [str(self.message)]} for row in self.rows}}


def _persons_for_rows(rows: Sequence[StayInput]) -> list[int]:
    """The person id of every row, creating the new persons in bulk; StaysPersonConflict on any name clash."""
    # Validation costs more than hashing: each distinct number is checked once per feed.
    numbers = {raw: id_number_clean(raw) for raw in {row.id_number for row in rows}}
    digest_of = {raw: id_number_digest(number) for raw, number in numbers.items()}
    digests = [digest_of[row.id_number] for row in rows]
    names = [name_normalise(row.name) for row in rows]
    wanted: dict[str, str] = {}
    conflicts = []
    for index, (digest, name) in enumerate(zip(digests, names, strict=True)):
        if wanted.setdefault(digest, name) != name:
            conflicts.append(index)
    known = {digest: (pk, name) for pk, digest, name in Person.objects.filter(id_digest__in=set(digests)).values_list("pk", "id_digest", "name")}
    conflicts += [i for i, digest in enumerate(digests) if digest in known and known[digest][1] != names[i]]
    if conflicts:
        raise StaysPersonConflict(sorted(set(conflicts)))
    new = {digest: name for digest, name in wanted.items() if digest not in known}
    if new:
        masked = {digest_of[raw]: id_number_mask(number) for raw, number in numbers.items() if digest_of[raw] in new}
        Person.objects.bulk_create(
            [Person(name=name, id_digest=digest, id_masked=masked[digest]) for digest, name in new.items()],
            batch_size=1000,
            ignore_conflicts=True,  # created meanwhile by another request: read back below
        )
        created = {
            digest: (pk, name)
            for pk, digest, name in Person.objects.filter(id_digest__in=list(new)).values_list("pk", "id_digest", "name")
        }
        raced = [i for i, digest in enumerate(digests) if digest in created and created[digest][1] != names[i]]
        if raced:
            raise StaysPersonConflict(raced)
        HealthStatus.objects.bulk_create(
            [HealthStatus(person_id=pk, dirty=True, dirty_cause="person_created") for pk, _name in created.values()],
            batch_size=1000,
            ignore_conflicts=True,
        )
        known.update(created)
    return [known[digest][0] for digest in digests]


@transaction.atomic
def stays_ingest(*, actor: AbstractBaseUser | None, stays: Sequence[StayInput]) -> int:
    """Store a feed of stays, all or nothing; a stay sent again (person, city, arrival) is updated, never duplicated."""
    if len(stays) > STAYS_MAX:
        raise ValidationError({"stays": [_("一次最多提交 %(max)s 条行程。") % {"max": STAYS_MAX}]})
    codes = {row.region_code for row in stays}
    unknown = codes - set(Region.objects.filter(code__in=codes).values_list("code", flat=True))
    if unknown:
        raise ValidationError({"stays": [_("未知的区划代码。")]})
    for row in stays:
        if row.left_at is not None and row.left_at < row.arrived_at:
            raise ValidationError({"stays": [_("离开时间不能早于到达时间。")]})
    person_ids = _persons_for_rows(stays)
    organisation = user_organisation(actor) if actor is not None else None
    source = organisation.kind if organisation is not None else Organisation.Kind.PLATFORM
    # The last row wins when a feed repeats a stay; the database would refuse two in one statement.
    records = {
        (person_id, row.region_code, row.arrived_at): ItineraryStay(
            person_id=person_id, region_id=row.region_code, arrived_at=row.arrived_at, left_at=row.left_at, source=source
        )
        for person_id, row in zip(person_ids, stays, strict=True)
    }
    ItineraryStay.objects.bulk_create(
        list(records.values()),
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["person", "region", "arrived_at"],
        update_fields=["left_at", "source", "received_at"],
    )
    persons_mark_dirty(person_ids, cause="itinerary_stays")
    return len(stays)


@transaction.atomic
def declaration_submit(
    *, name: str, id_number: str, region_codes: Sequence[str], declared_at: datetime | None = None
) -> Person | None:
    """Store a person's own declaration; a new ID number creates the person under this name.

    A known number with another name stores nothing and returns None: the caller answers as for
    a stranger, so the form reveals neither the number's owner nor that it is known.
    """
    codes = list(dict.fromkeys(region_codes))
    if not codes:
        raise ValidationError({"city_codes": [_("请至少申报一个城市。")]})
    if len(codes) > DECLARATION_REGIONS_MAX:
        raise ValidationError({"city_codes": [_("最多申报 %(max)s 个城市。") % {"max": DECLARATION_REGIONS_MAX}]})
    if Region.objects.filter(code__in=codes).count() != len(codes):
        raise ValidationError({"city_codes": [_("未知的区划代码。")]})
    try:
        person = person_resolve(name=name, id_number=id_number)
    except PersonConflict:
        return None
    declaration = ItineraryDeclaration(person=person, declared_at=declared_at or timezone.now(), region_codes=codes)
    declaration.full_clean()
    declaration.save()
    persons_mark_dirty([person.pk], cause="declaration")
    return person
