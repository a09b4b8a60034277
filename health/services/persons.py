"""Persons: found or created from a name and an ID number; the number itself is never stored."""
from django.db import IntegrityError, transaction

from health.errors import PersonConflict
from health.identity import id_number_clean, id_number_digest, id_number_mask
from health.models import HealthStatus, Person


def person_find(*, id_number: str) -> Person | None:
    """The person with this (valid) ID number, or None. Raises ValidationError for an invalid number."""
    digest = id_number_digest(id_number_clean(id_number))
    return Person.objects.filter(id_digest=digest).first()


def person_resolve(*, name: str, id_number: str) -> Person:
    """The person with this ID number, created if new; PersonConflict if it is known under another name."""
    number = id_number_clean(id_number)
    name = " ".join(str(name).split())
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
