"""Reads of the core app: who a staff account acts for, and what they may see."""
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q
from django.utils import timezone

from health import registry
from health.identity import digest_or_none, document_digests
from health.models import (
    Designation,
    ItineraryDeclaration,
    Organisation,
    Person,
    PersonAlias,
    Policy,
    Region,
    RiskArea,
    StaffMembership,
    StatusEvent,
)


def membership_of(user: AbstractBaseUser) -> StaffMembership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.membership
    except StaffMembership.DoesNotExist:
        return None


def user_is_admin(user: AbstractBaseUser) -> bool:
    membership = membership_of(user)
    return bool(getattr(user, "is_superuser", False) or (membership and membership.role == StaffMembership.Role.ADMIN))


def user_organisation(user: AbstractBaseUser) -> Organisation | None:
    membership = membership_of(user)
    return membership.organisation if membership else None


def user_organisation_kind(user: AbstractBaseUser) -> str | None:
    organisation = user_organisation(user)
    return organisation.kind if organisation else None


# --- persons and their statuses --------------------------------------------------------------
def user_is_health(user: AbstractBaseUser) -> bool:
    """Administrators and the health department see every person's status."""
    return user_is_admin(user) or user_organisation_kind(user) == Organisation.Kind.HEALTH


def organisation_holds(organisation: Organisation, person_id: int) -> bool:
    """Whether any registered source says this organisation keeps a record of the person."""
    return any(source.holds is not None and source.holds(organisation, person_id) for source in registry.sources())


def persons_visible_to(user: AbstractBaseUser):
    """Persons a staff account may look up in lists: all for administrators and health; for others,
    the persons their organisation holds records of, as far as the sources can say it set-wise.

    A source may offer `holds_queryset(organisation)` (person ids, as a queryset); a source
    without it contributes nobody to lists (its per-person `holds` still opens the API read).
    """
    if user_is_health(user):
        return Person.objects.all()
    organisation = user_organisation(user)
    if organisation is None:
        return Person.objects.none()
    queryset = Person.objects.none()
    for source in registry.sources():
        holds_queryset = getattr(source, "holds_queryset", None)
        if holds_queryset is not None:
            queryset = queryset | Person.objects.filter(pk__in=holds_queryset(organisation))
    return queryset


def person_readable_by(user: AbstractBaseUser, *, id_number: str):
    """The person with this ID number if the staff account may read their status, else None."""
    digest = digest_or_none(id_number)
    person = Person.objects.filter(id_digest=digest).first() if digest else None
    if person is None and digest:
        # A document left by a merge leads to the kept person.
        alias = PersonAlias.objects.filter(digest=digest).select_related("person").first()
        person = alias.person if alias is not None else None
    if person is None:
        return None
    if user_is_health(user):
        return person
    organisation = user_organisation(user)
    if organisation is not None and organisation_holds(organisation, person.pk):
        return person
    return None


@dataclass(frozen=True)
class TypedNumber:
    """A number typed into a staff search box: `found`, the stored digests of the persons it names under
    any document (a merged document gives its kept person's); `candidates`, every digest it could have."""

    found: list[str]
    candidates: list[str]


def persons_by_typed_number(term: str) -> TypedNumber | None:
    """The persons a number typed without its type may name (health.identity.document_digests: resident
    ID, permits, permanent residence card, a passport of any state), in two queries; None for a term
    that is no document number (a name)."""
    candidates = document_digests(term.strip())
    if not candidates:
        return None
    found = set(Person.objects.filter(id_digest__in=candidates).values_list("id_digest", flat=True))
    found |= set(PersonAlias.objects.filter(digest__in=candidates).values_list("person__id_digest", flat=True))
    return TypedNumber(found=sorted(found), candidates=candidates)


def person_status_history(person_id: int, *, limit: int = 200):
    return StatusEvent.objects.filter(person_id=person_id).order_by("-computed_at", "-pk")[:limit]


DECLARATIONS_RECENT = 10


def person_declarations_recent(person_id: int, *, limit: int = DECLARATIONS_RECENT):
    """The person's latest declarations, newest first: when, which cities, from which client."""
    return ItineraryDeclaration.objects.filter(person_id=person_id).order_by("-declared_at", "-pk")[:limit]


def client_marker(client_digest: str) -> str:
    """What staff see of a client: enough of its digest to tell two clients apart, nothing of its address."""
    return client_digest[:8]


def designations_visible_to(user: AbstractBaseUser):
    return Designation.objects.select_related("person") if user_is_health(user) else Designation.objects.none()


def risk_areas_visible_to(user: AbstractBaseUser):
    return RiskArea.objects.select_related("region") if user_is_health(user) else RiskArea.objects.none()


def region_codes_unknown(codes) -> set[str]:
    """The codes among `codes` that are not GB/T 2260 regions (one query)."""
    codes = set(codes)
    return codes - set(Region.objects.filter(code__in=codes).values_list("code", flat=True))


# --- policy versions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PolicyTimeline:
    """The version in force at a moment and the planned versions that will take effect after it, in order."""

    current: Policy | None
    planned: list[Policy]


def policy_timeline(*, now: datetime | None = None) -> PolicyTimeline:
    """The version in force (the highest whose start has come) and those that will follow it.

    A planned version takes effect at its start unless a higher version starts at or before
    that moment: that one is in force then, and the lower one never is.
    """
    now = now or timezone.now()
    current = Policy.objects.filter(effective_from__lte=now).order_by("-version").first()
    ahead = Policy.objects.filter(effective_from__gt=now, version__gt=current.version if current else 0)
    planned: list[Policy] = []
    blocking_from: datetime | None = None
    for version in ahead.order_by("-version"):
        if blocking_from is None or version.effective_from < blocking_from:
            planned.append(version)
            blocking_from = version.effective_from
    planned.sort(key=lambda version: version.effective_from)
    return PolicyTimeline(current=current, planned=planned)


def stored_reason(path: str, code: str) -> Q:
    """Rows whose stored reasons (the JSON list at `path`) hold `code`.

    The list read as text holds the quoted code: one test that SQLite and PostgreSQL answer alike
    (JSON `contains` is PostgreSQL's only), and exact, since codes are quoted words with no quotes.
    """
    return Q(**{f"{path}__icontains": f'"{code}"'})
