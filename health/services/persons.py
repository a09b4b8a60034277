"""Persons: found or created from a name and an ID number; the number itself is never stored."""
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from django.db import IntegrityError, transaction

from health.bulk import batched
from health.errors import PersonConflict
from health.identity import id_number_clean, id_number_digest, id_number_mask, name_normalise
from health.models import HealthStatus, Person


class PersonRow(Protocol):
    name: str
    id_number: str


def person_find(*, id_number: str) -> Person | None:
    """The person with this (valid) ID number, or None. Raises ValidationError for an invalid number."""
    digest = id_number_digest(id_number_clean(id_number))
    return Person.objects.filter(id_digest=digest).first()


def person_resolve(*, name: str, id_number: str) -> Person:
    """The person with this ID number, created if new; PersonConflict if it is known under another name."""
    number = id_number_clean(id_number)
    name = name_normalise(name)
    digest = id_number_digest(number)
    person = Person.objects.filter(id_digest=digest).first()
    if person is None:
        try:
            with transaction.atomic():
                person = Person.objects.create(name=name, id_digest=digest, id_masked=id_number_mask(number))
                HealthStatus.objects.create(person=person, dirty=True, dirty_cause="person_created")
        except IntegrityError:  # created concurrently by another request
            person = Person.objects.get(id_digest=digest)
    if person.name != name:
        raise PersonConflict(field="person")
    return person


def persons_resolve_many(rows: Sequence[PersonRow]) -> list[int]:
    """The person id of every row (anything with .name and .id_number), new persons created in bulk.

    One query for the known digests, one bulk insert for the new ones; PersonConflict (with the
    indexes of the offending rows in `.rows`) when a name contradicts a known number or another row.
    """
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
    known = persons_known(set(digests))
    conflicts += [i for i, digest in enumerate(digests) if digest in known and known[digest][1] != names[i]]
    if conflicts:
        raise PersonConflict.for_rows(sorted(set(conflicts)))
    new = {digest: name for digest, name in wanted.items() if digest not in known}
    if new:
        masked = {digest_of[raw]: id_number_mask(number) for raw, number in numbers.items() if digest_of[raw] in new}
        created = persons_create_many({digest: (name, masked[digest]) for digest, name in new.items()})
        raced = [i for i, digest in enumerate(digests) if digest in created and created[digest][1] != names[i]]
        if raced:
            raise PersonConflict.for_rows(raced)
        known.update(created)
    return [known[digest][0] for digest in digests]


def persons_known(digests: Iterable[str]) -> dict[str, tuple[int, str]]:
    """digest -> (id, name) of the stored persons among these digests (queried in chunks)."""
    known: dict[str, tuple[int, str]] = {}
    for chunk in batched(sorted(digests), 5000):
        rows = Person.objects.filter(id_digest__in=chunk).values_list("id_digest", "pk", "name")
        known.update((digest, (pk, name)) for digest, pk, name in rows)
    return known


def persons_create_many(new: Mapping[str, tuple[str, str]]) -> dict[str, tuple[int, str]]:
    """Persons for digest -> (name, masked number), created in bulk with their (dirty) status rows.

    Returns digest -> (id, stored name). A number created meanwhile by a concurrent request keeps
    its own person and name: the caller compares the names.
    """
    Person.objects.bulk_create(
        [Person(name=name, id_digest=digest, id_masked=masked) for digest, (name, masked) in new.items()],
        batch_size=1000,
        ignore_conflicts=True,  # created meanwhile by another request: read back below
    )
    created = persons_known(new)
    HealthStatus.objects.bulk_create(
        [HealthStatus(person_id=pk, dirty=True, dirty_cause="person_created") for pk, _name in created.values()],
        batch_size=1000,
        ignore_conflicts=True,
    )
    return created
