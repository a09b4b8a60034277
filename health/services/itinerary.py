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
from health.identity import Document, document_of, name_key
from health.models import (
    ItineraryDeclaration,
    ItineraryStay,
    KeptDeclaration,
    Organisation,
    Person,
    PersonAlias,
    Region,
)
from health.selectors import user_organisation
from health.services.persons import declarations_kept_sweep, name_normalise, persons_resolve_many
from health.services.statuses import persons_mark_dirty

STAYS_MAX = 10_000
DECLARATION_REGIONS_MAX = 50


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
    try:
        person_ids = persons_resolve_many(stays)
    except PersonConflict as conflict:
        raise StaysPersonConflict(conflict.rows) from None
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
    *,
    name: str,
    id_number: str | Document,
    region_codes: Sequence[str],
    declared_at: datetime | None = None,
    client_digest: str = "",
) -> Person | None:
    """Store a person's own declaration; for anyone else keep it for later and return None.

    An unknown number, or a known one with another name, returns None: the caller answers exactly
    as for a person with no data (api.md). The declaration is kept (KeptDeclaration: the number's
    digest and the name as given, never the number) and becomes the person's own, with its time,
    when a person with that number and that name appears (health.services.persons). No person is
    created, so a second attempt cannot tell "unknown" from "known under another name" either.
    """
    codes = list(dict.fromkeys(region_codes))
    if not codes:
        raise ValidationError({"city_codes": [_("请至少申报一个城市。")]})
    if len(codes) > DECLARATION_REGIONS_MAX:
        raise ValidationError({"city_codes": [_("最多申报 %(max)s 个城市。") % {"max": DECLARATION_REGIONS_MAX}]})
    if Region.objects.filter(code__in=codes).count() != len(codes):
        raise ValidationError({"city_codes": [_("未知的区划代码。")]})
    digest = document_of(id_number).digest
    name = name_normalise(name)
    declared_at = declared_at or timezone.now()
    person = Person.objects.filter(id_digest=digest).first()
    if person is None or name_key(person.name) != name_key(name):
        # A document left by a merge: the kept person, under the name registered with that document
        # (looked up for an unknown number and another name alike: the same work for both).
        alias = PersonAlias.objects.filter(digest=digest).select_related("person").first()
        person = alias.person if alias is not None and name_key(alias.name) == name_key(name) else None
    if person is None:
        kept = KeptDeclaration(
            id_digest=digest, name=name, declared_at=declared_at, region_codes=codes, client_digest=client_digest
        )
        kept.full_clean()
        kept.save()
        return None
    declaration = ItineraryDeclaration(
        person=person, declared_at=declared_at, region_codes=codes, client_digest=client_digest
    )
    declaration.full_clean()
    declaration.save()
    persons_mark_dirty([person.pk], cause="declaration")
    return person


def declarations_kept_purge(*, now: datetime | None = None) -> int:
    """Kept declarations made before the itinerary purge's horizon, deleted (those whose person appeared
    meanwhile are made theirs first); the number deleted. Called by the daily purge task."""
    from health.purge import stays_purge_horizon

    declarations_kept_sweep()
    horizon = stays_purge_horizon(now=now)
    return KeptDeclaration.objects.filter(declared_at__lt=horizon).delete()[0]
