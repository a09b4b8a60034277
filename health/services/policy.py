"""Policy versions: a new version is published, never edited; everyone is recomputed once it commits."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max

from health import retention
from health.models import Policy
from health.services import statuses


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
) -> Policy:
    """The next version, in force from its commit; refused if its window needs purged data."""
    retention.window_days_check(window_days)
    policy = Policy(
        window_days=window_days,
        min_stay_hours=min_stay_hours,
        nat_valid_days=nat_valid_days,
        inbound_observation_days=inbound_observation_days,
        inbound_arrival_grace_days=inbound_arrival_grace_days,
        eligible_provinces=sorted({str(code) for code in eligible_provinces}),
        home_region=home_region,
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
    # Marking a million persons dirty is batched and outside this transaction: the version is
    # committed first, so every recomputation it triggers already reads the new policy.
    transaction.on_commit(lambda: statuses.statuses_recompute_all(cause="policy_change"))
    return policy
