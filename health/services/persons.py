"""Persons: found or created from a name and an ID number (the number itself is never stored), and the
declarations kept for them before they appeared."""
import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from health.bulk import batched
from health.errors import NotAllowed, PersonConflict
from health.identity import Document, document_of, name_key, name_normalise
from health.models import (
    HealthStatus,
    ItineraryDeclaration,
    KeptDeclaration,
    Organisation,
    Person,
    PersonAlias,
    PersonNameCorrection,
)
from health.selectors import user_is_admin, user_organisation
from health.services.statuses import persons_mark_dirty


class PersonRow(Protocol):
    name: str
    id_number: "str | Document"


class PersonDocument(NamedTuple):
    """What a person keeps of their document besides its digest and mask, for a batch that holds no
    Document (the stays file's checked rows): type, issuing state, birth date."""

    document_type: str
    nationality: str
    birth_date: datetime.date | None


def person_find(*, id_number: "str | Document") -> Person | None:
    """The person with this (valid) ID number or document, or None (a merged document's digest leads to
    the kept person). Raises ValidationError for an invalid number."""
    digest = document_of(id_number).digest
    return Person.objects.filter(id_digest=digest).first() or _alias_person(digest)


def person_registered(id_number: "str | Document") -> tuple[Person | None, str | None]:
    """(the person, the name registered with this number or document), or (None, None): for forms that
    warn of a name that contradicts a known document before the service refuses it."""
    digest = document_of(id_number).digest
    person = Person.objects.filter(id_digest=digest).first()
    if person is not None:
        return person, person.name
    alias = PersonAlias.objects.filter(digest=digest).select_related("person").first()
    return (alias.person, alias.name) if alias is not None else (None, None)


def same_name(stored: str | None, given: str | None) -> bool:
    """Whether a given name is the stored one, as the services compare them (`name_key`)."""
    return stored is not None and given is not None and name_key(stored) == name_key(given)


def _alias_person(digest: str) -> Person | None:
    alias = PersonAlias.objects.filter(digest=digest).select_related("person").first()
    return alias.person if alias is not None else None


def person_resolve(*, name: str, id_number: "str | Document") -> Person:
    """The person with this ID number or document, created if new; PersonConflict if it is known under
    another name (compared by `name_key`: Latin names case-insensitively).

    `id_number` is what the API's person object cleaned to: a resident ID number, as it always was,
    or a Document (health.identity.document_clean).
    """
    document = document_of(id_number)
    name = name_normalise(name)
    digest = document.digest
    person = Person.objects.filter(id_digest=digest).first()
    if person is None:
        alias = PersonAlias.objects.filter(digest=digest).select_related("person").first()
        if alias is not None:
            if name_key(alias.name) != name_key(name):
                raise PersonConflict(field="person")
            return alias.person
        try:
            with transaction.atomic():
                person = Person.objects.create(
                    name=name,
                    id_digest=digest,
                    id_masked=document.masked,
                    document_type=document.document_type,
                    nationality=document.nationality,
                    birth_date=document.birth_date,
                )
                HealthStatus.objects.create(person=person, dirty=True, dirty_cause="person_created")
                declarations_kept_attach({digest: (person.pk, name)})
        except IntegrityError:  # created concurrently by another request
            person = Person.objects.get(id_digest=digest)
    if name_key(person.name) != name_key(name):
        raise PersonConflict(field="person")
    if person.birth_date is None and document.birth_date is not None:
        # Persons stored before birth dates were kept learn theirs the next time they are named.
        Person.objects.filter(pk=person.pk, birth_date__isnull=True).update(birth_date=document.birth_date)
        person.birth_date = document.birth_date
    return person


def persons_resolve_many(rows: Sequence[PersonRow]) -> list[int]:
    """The person id of every row (anything with .name and .id_number), new persons created in bulk.

    One query for the known digests, one bulk insert for the new ones; PersonConflict (with the
    indexes of the offending rows in `.rows`) when a name contradicts a known number or another row.
    """
    # Validation costs more than hashing: each distinct number is checked once per feed.
    documents = {raw: document_of(raw) for raw in {row.id_number for row in rows}}
    digest_of = {raw: document.digest for raw, document in documents.items()}
    digests = [digest_of[row.id_number] for row in rows]
    names = [name_normalise(row.name) for row in rows]
    keys = [name_key(name) for name in names]
    wanted: dict[str, str] = {}
    wanted_key: dict[str, str] = {}
    conflicts = []
    for index, (digest, name, key) in enumerate(zip(digests, names, keys, strict=True)):
        wanted.setdefault(digest, name)
        if wanted_key.setdefault(digest, key) != key:
            conflicts.append(index)
    known = persons_known(set(digests))
    conflicts += [i for i, digest in enumerate(digests) if digest in known and name_key(known[digest][1]) != keys[i]]
    if conflicts:
        raise PersonConflict.for_rows(sorted(set(conflicts)))
    new = {digest: name for digest, name in wanted.items() if digest not in known}
    if new:
        document_by_digest = {digest_of[raw]: document for raw, document in documents.items() if digest_of[raw] in new}
        created = persons_create_many(
            {digest: (name, document_by_digest[digest].masked) for digest, name in new.items()},
            documents=document_by_digest,
        )
        raced = [i for i, digest in enumerate(digests) if digest in created and name_key(created[digest][1]) != keys[i]]
        if raced:
            raise PersonConflict.for_rows(raced)
        known.update(created)
    return [known[digest][0] for digest in digests]


def persons_known(digests: Iterable[str]) -> dict[str, tuple[int, str]]:
    """digest -> (id, name) of the stored persons among these digests (queried in chunks).

    A digest left by a merge (PersonAlias) gives the kept person's id and the name registered under
    that document.
    """
    known: dict[str, tuple[int, str]] = {}
    for chunk in batched(sorted(digests), 5000):
        rows = Person.objects.filter(id_digest__in=chunk).values_list("id_digest", "pk", "name")
        known.update((digest, (pk, name)) for digest, pk, name in rows)
        missing = [digest for digest in chunk if digest not in known]
        if missing:
            aliases = PersonAlias.objects.filter(digest__in=missing).values_list("digest", "person_id", "name")
            known.update((digest, (pk, name)) for digest, pk, name in aliases)
    return known


def persons_create_many(
    new: Mapping[str, tuple[str, str]], *, documents: Mapping[str, Document | PersonDocument] | None = None
) -> dict[str, tuple[int, str]]:
    """Persons for digest -> (name, masked number), created in bulk with their (dirty) status rows.

    `documents` (digest -> Document or PersonDocument) gives the document type, nationality and
    birth date (of those that are not plain resident IDs, or whose birth date is known). Returns digest -> (id, stored name). A number created meanwhile
    by a concurrent request keeps its own person and name: the caller compares the names.
    """
    documents = documents or {}

    def person(digest: str, name: str, masked: str) -> Person:
        document = documents.get(digest)
        if document is None:
            return Person(name=name, id_digest=digest, id_masked=masked)
        return Person(
            name=name,
            id_digest=digest,
            id_masked=masked,
            document_type=document.document_type,
            nationality=document.nationality,
            birth_date=document.birth_date,
        )

    Person.objects.bulk_create(
        [person(digest, name, masked) for digest, (name, masked) in new.items()],
        batch_size=1000,
        ignore_conflicts=True,  # created meanwhile by another request: read back below
    )
    created = persons_known(new)
    HealthStatus.objects.bulk_create(
        [HealthStatus(person_id=pk, dirty=True, dirty_cause="person_created") for pk, _name in created.values()],
        batch_size=1000,
        ignore_conflicts=True,
    )
    declarations_kept_attach(created)
    return created


# --- a name corrected ----------------------------------------------------------------------------
NAME_MAX = 64
REASON_MAX = 255


@transaction.atomic
def person_name_correct(
    *, actor: AbstractBaseUser, person: Person, name: str, reason: str
) -> PersonNameCorrection:
    """Correct a person's stored name (a typo, a garbled import): audited, and the person recomputed.

    Administrators and the health department only (NotAllowed otherwise). The new name is stored in
    its normal form; the audit row keeps the old and the new name, who and why. Declarations kept
    under the new name for this number become the person's; the person is marked dirty.
    """
    if not user_is_admin(actor):
        organisation = user_organisation(actor)
        if organisation is None or organisation.kind != Organisation.Kind.HEALTH:
            raise NotAllowed()
    new_name = name_normalise(name)
    reason = " ".join(str(reason or "").split())
    errors = {}
    if not new_name:
        errors["name"] = [_("请填写姓名。")]
    elif len(new_name) > NAME_MAX:
        errors["name"] = [_("姓名最多 64 个字符。")]
    if not reason:
        errors["reason"] = [_("请填写更正原因。")]
    elif len(reason) > REASON_MAX:
        errors["reason"] = [_("更正原因最多 255 个字符。")]
    if errors:
        raise ValidationError(errors)
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.name == new_name:
        raise ValidationError({"name": [_("新姓名与原姓名相同。")]})
    correction = PersonNameCorrection(
        person=person, old_name=person.name, new_name=new_name, reason=reason, corrected_by=actor
    )
    correction.full_clean()
    correction.save()
    person.name = new_name
    person.save(update_fields=["name"])
    declarations_kept_attach({person.id_digest: (person.pk, new_name)})
    persons_mark_dirty([person.pk], cause="name_corrected")
    return correction


# --- declarations made before the person appeared ------------------------------------------------
def declarations_kept_attach(persons: Mapping[str, tuple[int, str]]) -> list[int]:
    """The kept declarations of these persons (digest -> (id, name)) made theirs; the ids of those who got one.

    Called wherever a person appears (created, or renamed to the name a declaration was kept
    under), in the caller's transaction. A kept declaration matches a person by the digest and the
    very name (both in their normal forms); it becomes an ItineraryDeclaration with the time it was
    made, the kept row goes, and the person is marked dirty.
    """
    person_of: dict[int, int] = {}
    for chunk in batched(sorted(persons), 5000):
        rows = KeptDeclaration.objects.filter(id_digest__in=chunk).values_list("pk", "id_digest", "name")
        person_of.update(
            (pk, persons[digest][0]) for pk, digest, name in rows if name_key(persons[digest][1]) == name_key(name)
        )
    return declarations_kept_make_theirs(person_of)


def declarations_kept_make_theirs(person_of: Mapping[int, int]) -> list[int]:
    """Kept declaration id -> person id: each becomes that person's declaration; the persons, marked dirty."""
    if not person_of:
        return []
    kept = list(KeptDeclaration.objects.filter(pk__in=list(person_of)))
    ItineraryDeclaration.objects.bulk_create(
        [
            ItineraryDeclaration(
                person_id=person_of[row.pk],
                declared_at=row.declared_at,
                region_codes=row.region_codes,
                client_digest=row.client_digest,
            )
            for row in kept
        ],
        batch_size=1000,
    )
    KeptDeclaration.objects.filter(pk__in=[row.pk for row in kept]).delete()
    person_ids = sorted({person_of[row.pk] for row in kept})
    persons_mark_dirty(person_ids, cause="declaration")
    return person_ids


@transaction.atomic
def declarations_kept_sweep() -> list[int]:
    """Kept declarations whose person exists under that name now, made theirs (ids of those persons).

    A declaration kept while its person was being created in another transaction (each unaware of
    the other) is attached here, by the daily purge, rather than never.
    """
    digests = KeptDeclaration.objects.filter(id_digest__in=Person.objects.values("id_digest")).values_list(
        "id_digest", flat=True
    )
    return declarations_kept_attach(persons_known(set(digests)))
