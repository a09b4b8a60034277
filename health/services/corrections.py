"""Status correction requests: a resident asks for their status to be looked at again; the routed organisation resolves it."""
from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from health.engine.rules import responsible
from health.errors import ApplicationError, NotAllowed, NotVisible
from health.models import Organisation, Person, StatusCorrectionRequest
from health.redaction import identity_numbers_redact
from health.registry import facts_for
from health.selectors import user_is_admin, user_organisation
from health.services.access import person_matching
from health.services.statuses import person_status_fresh, persons_mark_dirty, policy_current, risk_areas_current

MESSAGE_MAX = 1000
COMMENT_MAX = 1000
NOTE_MAX = 255
# The organisations a request can be routed to (engine.responsible names no other kind).
HANDLER_KINDS = (
    Organisation.Kind.COMMUNITY,
    Organisation.Kind.HEALTH,
    Organisation.Kind.BORDER,
    Organisation.Kind.PLATFORM,
)


class AlreadyResolved(ApplicationError):
    default_message = _("该申请已处理，不能重复处理。")


def correction_route(person: Person, *, now: datetime | None = None) -> Organisation:
    """Who looks at a person's request: the organisation whose records decided the status (engine.responsible).

    R1, R3 and a status without a failing record: the health authority; R2: the community of the
    active quarantine; R4: the managing community, else border control; P on the platform's
    itinerary data: the platform. An organisation that does not exist (yet) falls back to health.
    """
    now = now or timezone.now()
    policy = policy_current()
    facts = facts_for([person.pk])[person.pk]
    who = responsible(facts, now=now, policy=policy, risk_areas=risk_areas_current(now=now, policy=policy))
    if who.community is not None:
        found = Organisation.objects.filter(kind=Organisation.Kind.COMMUNITY, code=who.community).first()
    else:
        found = Organisation.objects.filter(kind=who.department, code=who.department).first()
    return found or _health()


def _health() -> Organisation:
    return Organisation.objects.get(kind=Organisation.Kind.HEALTH, code=Organisation.Kind.HEALTH)


def _message_clean(message: str) -> str:
    message = str(message or "").strip()
    if not message:
        raise ValidationError({"message": [_("请说明您认为状态有误的原因。")]})
    if len(message) > MESSAGE_MAX:
        raise ValidationError({"message": [_("说明不能超过 %(max)d 个字。") % {"max": MESSAGE_MAX}]})
    # Residents write their number into the message ("我的身份证号是…"): it is never stored.
    return identity_numbers_redact(message)


@transaction.atomic
def correction_submit(
    *, name: str, id_number: str, message: str, now: datetime | None = None
) -> StatusCorrectionRequest | None:
    """Store a request when the name and number are those of a known person; otherwise store nothing.

    The caller answers the same either way, so the endpoint does not tell who is known. Every
    matching request is kept: the endpoint's budget per number, name and client address
    (CORRECTION_THROTTLE_RATE) bounds the queue, and a stranger's requests never spend the owner's.
    """
    message = _message_clean(message)
    person = person_matching(name=name, id_number=id_number)
    if person is None:
        return None
    # The status the resident is shown right now (recomputed if a change is still pending).
    status = person_status_fresh(person.pk)
    request = StatusCorrectionRequest(
        person=person,
        organisation=correction_route(person, now=now),
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
    if organisation is None or organisation.kind not in HANDLER_KINDS:
        raise NotAllowed()
    if organisation.pk != request.organisation_id:
        raise NotVisible()


@transaction.atomic
def correction_reroute(
    *, actor: AbstractBaseUser, request: StatusCorrectionRequest, organisation: Organisation, note: str
) -> StatusCorrectionRequest:
    """The receiver (or an administrator) passes an open request on to the organisation that can act on it."""
    _ensure_may_resolve(actor, request)
    note = str(note or "").strip()
    if not note:
        raise ValidationError({"routing_note": [_("请说明转交原因。")]})
    if len(note) > NOTE_MAX:
        raise ValidationError({"routing_note": [_("转交说明不能超过 %(max)d 个字。") % {"max": NOTE_MAX}]})
    if organisation.kind not in HANDLER_KINDS:
        raise ValidationError({"organisation": [_("只能转交社区、卫健、海关边检或国家政务服务平台。")]})
    locked = StatusCorrectionRequest.objects.select_for_update().get(pk=request.pk)
    if locked.state != StatusCorrectionRequest.State.OPEN:
        raise AlreadyResolved(field="organisation")
    if locked.organisation_id == organisation.pk:
        raise ValidationError({"organisation": [_("该申请已由该机构处理。")]})
    locked.organisation = organisation
    locked.routing_note = identity_numbers_redact(note)
    locked.full_clean()
    locked.save(update_fields=["organisation", "routing_note"])
    return locked


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
