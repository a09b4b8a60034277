"""Every write of the entrants app: register, update, release, and the bulk import of the feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_create_with_history

from entrants.models import InboundCase
from health import registry
from health.engine.rules import beijing_date
from health.errors import ApplicationError, NotAllowed, NotVisible, PersonConflict
from health.models import Organisation
from health.selectors import user_is_admin, user_organisation
from health.services.persons import person_resolve, persons_resolve_many
from health.services.statuses import persons_mark_dirty

UPDATABLE = ("quarantine_ended_at", "entered_city_on", "community_code")


class AlreadyReleased(ApplicationError):
    default_message = _("该入境人员已解除观察。")


# --- who acts ------------------------------------------------------------------------------
def recording_border(actor) -> Organisation:
    """The border department recording on the actor's behalf; 403 for any other kind of staff.

    Administrators (and the shell, actor None) record for the border department itself.
    """
    if actor is None or user_is_admin(actor):
        return Organisation.objects.get(kind=Organisation.Kind.BORDER, code=Organisation.Kind.BORDER)
    organisation = user_organisation(actor)
    if organisation is None or organisation.kind != Organisation.Kind.BORDER:
        raise NotAllowed()
    return organisation


def _release_scope(actor, case: InboundCase) -> None:
    """Administrators and the managing community may release; another community sees nothing."""
    if user_is_admin(actor):
        return
    organisation = user_organisation(actor)
    if organisation is None or organisation.kind != Organisation.Kind.COMMUNITY:
        raise NotAllowed()
    if case.managing_community_id != organisation.pk:
        raise NotVisible()


def community_find(code: str | None) -> Organisation | None:
    if not code:
        return None
    community = Organisation.objects.filter(kind=Organisation.Kind.COMMUNITY, code=code).first()
    if community is None:
        raise ValidationError({"community_code": [_("未知的社区编码。")]})
    return community


# --- validation shared by every write --------------------------------------------------------
def _dates_derive(case: InboundCase) -> None:
    """Keep the Beijing-date columns that the database's CHECK constraints compare in step."""
    case.quarantine_ended_on = beijing_date(case.quarantine_ended_at) if case.quarantine_ended_at else None
    case.released_on = beijing_date(case.released_at) if case.released_at else None


def case_dates_errors(
    *,
    entered_country_on: date,
    quarantine_ended_at: datetime | None = None,
    entered_city_on: date | None = None,
    released_at: datetime | None = None,
) -> dict[str, list]:
    """Field errors of the case's dates against its entry (the CHECK constraints, as messages).

    Moments are compared by their Beijing date: a quarantine ending at 00:30 Beijing on the
    day of entry is 16:30 UTC the day before, and is valid.
    """
    errors: dict[str, list] = {}
    if quarantine_ended_at is not None and beijing_date(quarantine_ended_at) < entered_country_on:
        errors["quarantine_ended_at"] = [_("集中隔离结束时间不能早于入境日期。")]
    if entered_city_on is not None and entered_city_on < entered_country_on:
        errors["entered_city_on"] = [_("进京日期不能早于入境日期。")]
    if released_at is not None and beijing_date(released_at) < entered_country_on:
        errors["released_at"] = [_("解除观察时间不能早于入境日期。")]
    return errors


# Foreign keys the services have just loaded themselves: re-reading each one per row is waste.
LOADED_RELATIONS = ["person", "border", "managing_community", "created_by", "released_by"]


def _case_validate(case: InboundCase, *, relations_loaded: bool = False) -> None:
    """The constraints, checked first so that a violation is a field error, not an IntegrityError."""
    _dates_derive(case)
    errors = case_dates_errors(
        entered_country_on=case.entered_country_on,
        quarantine_ended_at=case.quarantine_ended_at,
        entered_city_on=case.entered_city_on,
        released_at=case.released_at,
    )
    if case.released_at is not None and case.managing_community_id is None:
        errors["community_code"] = [_("已解除观察的入境人员必须有管理社区。")]
    if errors:
        raise ValidationError(errors)
    case.full_clean(
        exclude=LOADED_RELATIONS if relations_loaded else None, validate_unique=False, validate_constraints=False
    )


def _ensure_new(person_id: int, entered_country_on: date) -> None:
    if InboundCase.objects.filter(person_id=person_id, entered_country_on=entered_country_on).exists():
        raise ValidationError(
            {"entered_country_on": [_("该人员该日的入境记录已存在，请修改原记录。")]}, code="duplicate"
        )


# --- register, update, release -----------------------------------------------------------
@transaction.atomic
def inbound_register(
    *,
    actor,
    person_name: str,
    id_number: str,
    entered_country_on: date,
    port: str,
    origin_country: str,
    community_code: str | None = None,
    quarantine_ended_at: datetime | None = None,
    entered_city_on: date | None = None,
) -> InboundCase:
    """Border control registers a traveller who entered the country bound for Beijing."""
    border = recording_border(actor)
    community = community_find(community_code)
    person = person_resolve(name=person_name, id_number=id_number)
    _ensure_new(person.pk, entered_country_on)
    case = InboundCase(
        person=person,
        entered_country_on=entered_country_on,
        port_of_entry=port,
        origin_country=origin_country,
        quarantine_ended_at=quarantine_ended_at,
        entered_city_on=entered_city_on,
        managing_community=community,
        border=border,
        created_by=actor,
    )
    _case_validate(case)
    case._history_user = actor
    case.save()
    persons_mark_dirty([person.pk], cause="inbound_registered")
    return case


@transaction.atomic
def inbound_update(*, actor, case: InboundCase, **changes) -> InboundCase:
    """Border control records the end of quarantine, the entry into Beijing, or hands the case to a community.

    `changes` may hold quarantine_ended_at, entered_city_on and community_code (None clears).
    """
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ApplicationError(_("不能修改这些字段：") + ", ".join(sorted(unknown)))
    recording_border(actor)
    case = InboundCase.objects.select_for_update().get(pk=case.pk)
    if "quarantine_ended_at" in changes:
        case.quarantine_ended_at = changes["quarantine_ended_at"]
    if "entered_city_on" in changes:
        case.entered_city_on = changes["entered_city_on"]
    if "community_code" in changes:
        community = community_find(changes["community_code"])
        if case.released_at is not None and (community is None or community.pk != case.managing_community_id):
            raise ApplicationError(_("已解除观察的入境人员不能变更管理社区。"), field="community_code")
        case.managing_community = community
    _case_validate(case)
    case._history_user = actor
    case.save()
    persons_mark_dirty([case.person_id], cause="inbound_updated")
    return case


@transaction.atomic
def inbound_release(*, actor, case: InboundCase, released_at: datetime | None = None) -> InboundCase:
    """The managing community releases the traveller, and lifts their quarantines there, in one step.

    The lift is written by the app that owns quarantine records, through the release effects it
    registered with the core (health.registry): this app imports only the core.
    """
    case = (
        InboundCase.objects.select_for_update(of=("self",))
        .select_related("person", "managing_community")
        .get(pk=case.pk)
    )
    _release_scope(actor, case)
    if case.managing_community_id is None:
        raise ApplicationError(_("该入境人员未交由社区管理，按规则自动解除，无需社区操作。"))
    if case.released_at is not None:
        raise AlreadyReleased()
    case.released_at = released_at or timezone.now()
    case.released_by = actor
    _case_validate(case)
    case._history_user = actor
    case.save()
    registry.inbound_release_effects(
        actor=actor, person=case.person, community=case.managing_community, released_at=case.released_at
    )
    persons_mark_dirty([case.person_id], cause="inbound_released")
    return case


@transaction.atomic
def inbound_cases_delete(*, actor, cases_or_ids) -> int:
    """Administrators only: remove cases registered by mistake; their persons are recomputed.

    A case released by its community keeps the lifts that release wrote on quarantine records:
    those are the records' own facts now.
    """
    if actor is not None and not user_is_admin(actor):
        raise NotAllowed()
    pks = sorted({item.pk if isinstance(item, InboundCase) else int(item) for item in cases_or_ids})
    cases = list(InboundCase.objects.select_for_update().filter(pk__in=pks).order_by("pk"))
    for case in cases:
        case._history_user = actor
        case.delete()
    persons_mark_dirty({case.person_id for case in cases}, cause="inbound_deleted")
    return len(cases)


# --- the border-control feed -----------------------------------------------------------------
@dataclass(frozen=True)
class FeedRow:
    """One validated row of the feed (the API's create fields; the ID number canonical, in memory only)."""

    line: int
    name: str
    id_number: str
    entered_country_on: date
    port: str
    origin_country: str
    community_code: str | None = None
    quarantine_ended_at: datetime | None = None
    entered_city_on: date | None = None


@transaction.atomic
def inbound_import(*, actor, rows: Sequence[FeedRow]) -> int:
    """Write validated feed rows in one transaction: new entries created, known ones updated.

    A row whose person already has an entry on that day updates it with the row's non-blank
    values (a resent or corrected feed never duplicates, and a blank never erases). Callers
    validate every row first (entrants.feed); a conflict found only here (a concurrent write)
    rolls the whole file back.
    """
    border = recording_border(actor)
    communities = {
        community.code: community
        for community in Organisation.objects.filter(
            kind=Organisation.Kind.COMMUNITY, code__in={row.community_code for row in rows if row.community_code}
        )
    }
    try:
        person_ids = persons_resolve_many(rows)
    except PersonConflict:  # a name changed by a concurrent request since the rows were validated
        raise ApplicationError(_("导入期间数据已被修改，请重新提交。"), field="name") from None
    persons = {pk: None for pk in person_ids}
    existing = {
        (case.person_id, case.entered_country_on): case
        for case in InboundCase.objects.select_for_update().filter(person_id__in=list(persons))
    }
    created, updated = [], []
    for row, person_id in zip(rows, person_ids, strict=True):
        case = existing.get((person_id, row.entered_country_on))
        community = communities.get(row.community_code) if row.community_code else None
        if row.community_code and community is None:
            raise ValidationError({"community_code": [_("未知的社区编码。")]})
        if case is None:
            case = InboundCase(
                person_id=person_id,
                entered_country_on=row.entered_country_on,
                port_of_entry=row.port,
                origin_country=row.origin_country,
                quarantine_ended_at=row.quarantine_ended_at,
                entered_city_on=row.entered_city_on,
                managing_community=community,
                border=border,
                created_by=actor,
            )
            _case_validate(case, relations_loaded=True)
            created.append(case)
            continue
        case.port_of_entry = row.port
        case.origin_country = row.origin_country
        if row.quarantine_ended_at is not None:
            case.quarantine_ended_at = row.quarantine_ended_at
        if row.entered_city_on is not None:
            case.entered_city_on = row.entered_city_on
        if community is not None:
            if case.released_at is not None and community.pk != case.managing_community_id:
                raise ApplicationError(_("已解除观察的入境人员不能变更管理社区。"), field="community_code")
            case.managing_community = community
        _case_validate(case, relations_loaded=True)
        updated.append(case)
    try:
        with transaction.atomic():
            bulk_create_with_history(created, InboundCase, batch_size=500, default_user=actor)
            for case in updated:
                case._history_user = actor
                case.save()
    except IntegrityError:
        raise ApplicationError(_("导入期间数据已被修改，请重新提交。")) from None
    persons_mark_dirty(list(persons), cause="inbound_feed")
    return len(rows)
