"""Policy versions: a new version is published, never edited; everyone is recomputed once it takes effect.

A version takes effect at its `effective_from`: at once when published without one (everyone is
marked on commit), or later, when the sweep finds it has come (`policy_activate_due`). Either way
one `PolicyActivation` row records it, so that everyone is recomputed exactly once per version.
"""
from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from health import retention
from health.models import Policy, PolicyActivation
from health.services.status_fanout import statuses_recompute_all
from health.timebounds import CLOCK_SKEW, PLANNING_HORIZON

# The parameters a version carries (and a new version based on another copies).
POLICY_PARAMETERS = (
    "window_days",
    "min_stay_hours",
    "nat_valid_days",
    "inbound_observation_days",
    "inbound_arrival_grace_days",
    "eligible_provinces",
    "home_region",
)


@transaction.atomic
def policy_publish(
    *,
    actor: AbstractBaseUser | None,
    window_days: int,
    min_stay_hours: int,
    nat_valid_days: int,
    inbound_observation_days: int,
    inbound_arrival_grace_days: int,
    eligible_provinces: list[str],
    home_region: str,
    comment: str = "",
    effective_from: datetime | None = None,
) -> Policy:
    """The next version: in force from its commit, or from `effective_from` when that lies ahead.

    Refused if its window needs purged data.
    """
    retention.window_days_check(window_days)
    now = timezone.now()
    effective_from = policy_effective_from_check(effective_from, now=now)
    policy = Policy(
        window_days=window_days,
        min_stay_hours=min_stay_hours,
        nat_valid_days=nat_valid_days,
        inbound_observation_days=inbound_observation_days,
        inbound_arrival_grace_days=inbound_arrival_grace_days,
        eligible_provinces=sorted({str(code) for code in eligible_provinces}),
        home_region=home_region,
        effective_from=effective_from,
        comment=comment,
        created_by=actor,
    )
    # The version number is claimed by the insert itself: a concurrent publication that took the
    # same number makes ours fail on the primary key, and we take the next one.
    for _attempt in range(10):
        policy.version = (Policy.objects.aggregate(latest=Max("version"))["latest"] or 0) + 1
        policy.full_clean(validate_unique=False)
        try:
            with transaction.atomic():
                policy.save(force_insert=True)
            break
        except IntegrityError:
            continue
    else:
        raise IntegrityError("policy version contention")
    if effective_from <= now:
        _policy_activate(policy, now=now)
    return policy


def policy_effective_from_check(effective_from: datetime | None, *, now: datetime) -> datetime:
    """A planned start lies ahead (a few minutes of skew aside) and within the planning horizon; none = now."""
    if effective_from is None:
        return now
    if effective_from < now - CLOCK_SKEW:
        raise ValidationError({"effective_from": [_("生效时间不能早于当前时间；立即生效请留空。")]})
    if effective_from > now + PLANNING_HORIZON:
        raise ValidationError({"effective_from": [_("该时间过晚。")]})
    return max(effective_from, now)


def policy_republish(
    *, actor: AbstractBaseUser | None, base: Policy, comment: str = "", effective_from: datetime | None = None
) -> Policy:
    """A rollback: a new version with the values of `base` (the old version itself is never touched)."""
    values = {name: getattr(base, name) for name in POLICY_PARAMETERS}
    return policy_publish(
        actor=actor,
        comment=comment or str(_("以 v%(version)d 为基础发布")) % {"version": base.version},
        effective_from=effective_from,
        **values,
    )


def policy_activate_due(*, now: datetime | None = None) -> int | None:
    """Called by the sweep: if the version in force now has not taken effect yet, make it so (once).

    Returns the version activated, or None. Two sweeps at once cannot both activate one version:
    the activation row's primary key lets one insert win.
    """
    now = now or timezone.now()
    current = Policy.objects.filter(effective_from__lte=now).order_by("-version").first()
    if current is None or PolicyActivation.objects.filter(policy_id=current.pk).exists():
        return None
    try:
        with transaction.atomic():
            _policy_activate(current, now=now)
    except IntegrityError:
        return None  # another sweep took it
    return current.version


def _policy_activate(policy: Policy, *, now: datetime) -> None:
    """Inside the caller's transaction: record that the version took effect, and recompute everyone after commit."""
    with transaction.atomic():
        PolicyActivation.objects.create(policy=policy, activated_at=now)
    # Marking a million persons dirty is batched and outside this transaction: the activation is
    # committed first, so every recomputation it triggers already reads the new policy.
    transaction.on_commit(lambda: statuses_recompute_all(cause="policy_change"))
