"""Status correction requests: a resident asks for their status to be looked at again; the routed organisation resolves it."""
from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from health.errors import ApplicationError, NotAllowed, NotVisible
from health.models import Organisation, Person, StatusCorrectionRequest
from health.selectors import user_is_admin, user_organisation
from health.services.access import person_matching
from health.services.statuses import person_status_fresh, persons_mark_dirty

MESSAGE_MAX = 1000
COMMENT_MAX = 1000
# A person's open requests beyond this are not stored (the answer stays the same): one resident
# cannot flood their community's queue; the per-number throttle bounds the rate as well.
OPEN_REQUESTS_MAX = 3


class AlreadyResolved(ApplicationError):
    default_message = _("该申请已处理，不能重复处理。")


def correction_route(person: Person) -> Organisation:
    """Who looks at a person's request: the community that can change their records, else the health authority.

    In order: a community with an active quarantine of the person (the latest one); a community
    managing an unreleased inbound case of theirs; the community of their latest quarantine; the
    managing community of their latest inbound case; the health department.
    """
    # Imported here: the core's models do not depend on the apps; this routing reads their records.
    from communities.models import QuarantineRecord
    from entrants.models import InboundCase

    quarantines = QuarantineRecord.objects.filter(person=person).select_related("community")
    cases = InboundCase.objects.filter(person=person, managing_community__isnull=False).select_related(
        "managing_community"
    )
    active = quarantines.filter(lifted_at__isnull=True).order_by("-started_at", "-pk").first()
    if active is not None:
        return active.community
    unreleased = cases.filter(released_at__isnull=True).order_by("-entered_country_on", "-pk").first()
    if unreleased is not None:
        return unreleased.managing_community
    latest = quarantines.order_by("-started_at", "-pk").first()
    if latest is not None:
        return latest.community
    case = cases.order_by("-entered_country_on", "-pk").first()
    if case is not None:
        return case.managing_community
    return Organisation.objects.get(kind=Organisation.Kind.HEALTH, code=Organisation.Kind.HEALTH)


def _message_clean(message: str) -> str:
    message = str(message or "").strip()
    if not message:
        raise ValidationError({"message": [_("请说明您认为状态有误的原因。")]})
    if len(message) > MESSAGE_MAX:
        raise ValidationError({"message": [_("说明不能超过 %(max)d 个字。") % {"max": MESSAGE_MAX}]})
    return message


@transaction.atomic
def correction_submit(
    *, name: str, id_number: str, message: str, now: datetime | None = None
) -> StatusCorrectionRequest | None:
    """Store a request when the name and number are those of a known person; otherwise store nothing.

    The caller answers the same either way, so the endpoint does not tell who is known. A
    person with OPEN_REQUESTS_MAX open requests gets nothing new stored either.
    """
    message = _message_clean(message)
    person = person_matching(name=name, id_number=id_number)
    if person is None:
        return None
    if StatusCorrectionRequest.objects.filter(person=person, state=StatusCorrectionRequest.State.OPEN).count() >= (
        OPEN_REQUESTS_MAX
    ):
        return None
    # The status the resident is shown right now (recomputed if a change is still pending).
    status = person_status_fresh(person.pk)
    request = StatusCorrectionRequest(
        person=person,
        organisation=correction_route(person),
        message=message,
        submitted_at=now or timezone.now(),
        status_at_submission=status.status if status and status.computed_at else "",
        reasons_at_submission=list(status.reasons) if status and status.computed_at else [],
    )
    request.full_clean()
    request.save()
    return request


def _ensure_may_resolve(actor: AbstractBaseUser, request: StatusCorrectionRequest) -> None:
    if user_is_admin(actor):
        return
    organisation = user_organisation(actor)
    if organisation is None or organisation.kind not in (Organisation.Kind.COMMUNITY, Organisation.Kind.HEALTH):
        raise NotAllowed()
    if organisation.pk != request.organisation_id:
        raise NotVisible()


@transaction.atomic
def correction_resolve(
    *, actor: AbstractBaseUser, request: StatusCorrectionRequest, comment: str
) -> StatusCorrectionRequest:
    """Close a request with a comment; the person's status is recomputed after commit.

    Resolving changes no fact: a record that was wrong is corrected through its own page (lift,
    check-out, release). The recompute makes sure the resident is then shown the status those
    records give, not a stored one.
    """
    _ensure_may_resolve(actor, request)
    comment = str(comment or "").strip()
    if not comment:
        raise ValidationError({"resolution_comment": [_("请填写处理意见。")]})
    if len(comment) > COMMENT_MAX:
        raise ValidationError({"resolution_comment": [_("处理意见不能超过 %(max)d 个字。") % {"max": COMMENT_MAX}]})
    locked = StatusCorrectionRequest.objects.select_for_update().get(pk=request.pk)
    if locked.state != StatusCorrectionRequest.State.OPEN:
        raise AlreadyResolved(field="resolution_comment")
    locked.state = StatusCorrectionRequest.State.RESOLVED
    locked.resolution_comment = comment
    locked.resolved_by = actor
    locked.resolved_at = timezone.now()
    locked.full_clean()
    locked.save(update_fields=["state", "resolution_comment", "resolved_by", "resolved_at"])
    persons_mark_dirty([locked.person_id], cause="correction_resolved")
    return locked
