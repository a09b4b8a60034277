"""Merging two persons who are one (a Chinese citizen registered by border control under a passport
and by a hotel under the resident ID): every record moves to the kept person, both documents lead
there afterwards, and the merge is audited. There is no undo (docs/identity.md)."""
from __future__ import annotations

from collections import Counter
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Value
from django.db.models.functions import Concat
from django.utils.translation import gettext_lazy as _

from health.errors import NotAllowed
from health.identity import name_key
from health.models import HealthStatus, ItineraryStay, Organisation, Person, PersonAlias, PersonMerge
from health.selectors import user_is_admin, user_organisation
from health.services.statuses import persons_mark_dirty

REASON_MAX = 255
SAME_PERSON = _("保留的人员与并入的人员不能是同一人。")
REASON_REQUIRED = _("请填写合并原因。")
REASON_TOO_LONG = _("合并原因最多 255 个字符。")
CONFLICT = _("两人的%(records)s记录相互冲突（如同一社区同时在隔离），请先处理后再合并。")


def may_merge(user: AbstractBaseUser) -> bool:
    """Administrators and the health department only."""
    if user_is_admin(user):
        return True
    organisation = user_organisation(user)
    return organisation is not None and organisation.kind == Organisation.Kind.HEALTH


def _relations() -> list[tuple[type[models.Model], str]]:
    """(model, field) of every foreign key to Person but the status row: records, audits and their history."""
    found = []
    for relation in Person._meta.get_fields(include_hidden=True):
        if not (relation.is_relation and relation.auto_created and not relation.concrete):
            continue
        if relation.one_to_one:
            continue  # the status row is the person's own: the kept person's is recomputed
        found.append((relation.related_model, relation.field.name))
    return sorted(found, key=lambda pair: pair[0]._meta.label)


@transaction.atomic
def persons_merge(*, actor: AbstractBaseUser, keep: Person, merge: Person, reason: str) -> PersonMerge:
    """Move every record of `merge` to `keep` in one transaction, and audit it; `merge` is no more.

    NotAllowed for anyone but an administrator or the health department. Afterwards `merge`'s
    document digest (and any digest that already led to it) leads to `keep`: a later record, query
    or declaration under that document lands there, with the name registered under it. A stay both
    persons have (the same city and arrival) is kept once; any other record that cannot be held by
    one person twice (an open quarantine in the same community, two open check-ins at one hotel, two
    entries on one day) refuses the merge with a 400, nothing changed. `keep` is marked dirty.
    """
    if not may_merge(actor):
        raise NotAllowed()
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValidationError({"reason": [REASON_REQUIRED]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [REASON_TOO_LONG]})
    if keep.pk == merge.pk:
        raise ValidationError({"merge": [SAME_PERSON]})
    locked = {person.pk: person for person in Person.objects.select_for_update().filter(pk__in=[keep.pk, merge.pk])}
    keep, merge = locked[keep.pk], locked[merge.pk]
    moved: Counter[str] = Counter()
    # The same stay reported under both documents: the kept person's copy stays, the other goes.
    kept_stays = set(ItineraryStay.objects.filter(person=keep).values_list("region_id", "arrived_at"))
    twins = [pk for pk, region, arrived in ItineraryStay.objects.filter(person=merge).values_list("pk", "region_id", "arrived_at")
             if (region, arrived) in kept_stays]
    if twins:
        ItineraryStay.objects.filter(pk__in=twins).delete()
        moved["health.ItineraryStay (duplicates dropped)"] = len(twins)
    for model, field in _relations():
        try:
            with transaction.atomic():
                count = model._base_manager.filter(**{field: merge.pk}).update(**{field: keep.pk})
        except IntegrityError:
            raise ValidationError({"merge": [CONFLICT % {"records": model._meta.verbose_name}]}) from None
        if count:
            moved[model._meta.label] = count
    PersonAlias.objects.create(
        person=keep,
        digest=merge.id_digest,
        name=merge.name,
        id_masked=merge.id_masked,
        document_type=merge.document_type,
        nationality=merge.nationality,
    )
    if keep.birth_date is None and merge.birth_date is not None:
        keep.birth_date = merge.birth_date
        keep.save(update_fields=["birth_date"])
    event = PersonMerge.objects.create(
        kept=keep,
        merged_name=merge.name,
        merged_masked=merge.id_masked,
        merged_document_type=merge.document_type,
        merged_person_id=merge.pk,
        reason=reason,
        moved=dict(sorted(moved.items())),
        merged_by=actor,
    )
    HealthStatus.objects.filter(person=merge).delete()
    merge.delete()
    persons_mark_dirty([keep.pk], cause="persons_merged")
    return event


def merge_suggestions(*, limit: int = 50) -> list[dict]:
    """Likely duplicates for the health department: persons of different documents with the same name
    (compared as `name_key` compares: Latin names in any case) and the same birth date.

    Only persons whose birth date is known (from the resident ID or the permanent residence card's
    number, or given on a passport record) can be suggested.
    """
    # Only the birthdays held by more than one kind of document (type and state) can hold a suggestion:
    # in a city of residents, the days of its travellers' birthdays, not every day of the calendar.
    candidates = (
        Person.objects.filter(birth_date__isnull=False)
        .values("birth_date")
        .annotate(kinds=Count(Concat("document_type", Value("/"), "nationality"), distinct=True))
        .filter(kinds__gt=1)
        .order_by("birth_date")
        .values_list("birth_date", flat=True)
    )
    days: list[date] = list(candidates[:5000])
    groups: dict[tuple[str, date], list[Person]] = {}
    for person in Person.objects.filter(birth_date__in=days).order_by("pk"):
        groups.setdefault((name_key(person.name), person.birth_date), []).append(person)
    suggestions = []
    for (_key, born), persons in sorted(groups.items(), key=lambda item: (item[0][1], item[0][0])):
        if len({(person.document_type, person.nationality) for person in persons}) < 2:
            continue  # one kind of document: two resident IDs of one name and birthday are two people
        suggestions.append({"birth_date": born, "persons": persons})
        if len(suggestions) >= limit:
            break
    return suggestions
