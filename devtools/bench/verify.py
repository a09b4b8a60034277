"""The status verifier over a city after a day of changes: mismatches found, and its cost per person.

Risk designations made and ended, the nightly purge, inbound releases and declarations are
applied through their services in a random order (seeded), each recomputed in this process as
the embedded mode does; then `statuses_verify` re-decides every clean, unexpired status. Figure:
persons verified per second; baseline, in the same run: persons recomputed per second by the
inline full recompute (`statuses_recompute_range`, the same loaders and engine plus the write).
The mismatch count is reported beside it (0 is the target).
"""
from __future__ import annotations

import os
import random
import resource
import time
from datetime import timedelta

from devtools.bench.common import database_ensure, emit, population_ensure, say

REGIONS = ["110105", "110108", "130104", "130102", "120101", "310101", "440305", "420106", "110114", "429004"]


def add_arguments(parser) -> None:
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--operations", type=int, default=60, help="changes applied before verifying")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1000)


def _operations(rng: random.Random, count: int):
    kinds = ["risk", "risk_end", "purge", "release", "declaration", "declaration", "declaration"]
    return [rng.choice(kinds) for _ in range(count)]


def run(options: dict) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from config.celery_app import app
    from devtools.population import person_identity, persons_generated
    from entrants.models import InboundCase
    from entrants.services import inbound_release
    from health.impact import risk_area_impact
    from health.models import HealthStatus, Region, RiskArea
    from health.purge import stays_purge
    from health.services.itinerary import declaration_submit
    from health.services.risk_areas import risk_area_create, risk_area_update
    from health.services.statuses import (
        person_id_chunks,
        person_id_ranges,
        policy_current,
        risk_areas_current,
        statuses_recompute,
        statuses_recompute_range,
    )
    from health.services.verification import statuses_verify

    # The embedded mode: every commit's recompute runs here, as it would in a worker.
    app.conf.task_always_eager = True
    database_ensure()
    population_ensure(options["persons"])
    rng = random.Random(options["seed"])
    generated = persons_generated()
    admin, _created = get_user_model().objects.get_or_create(
        username="bench-verify", defaults={"is_staff": True, "is_superuser": True}
    )

    def settle() -> None:
        # What a lost message would leave: recomputed here, so that the verifier sees a settled city.
        for ids in person_id_chunks(chunk_size=options["batch_size"], dirty=True):
            statuses_recompute(ids, cause="bench_settle")

    settle()
    counts: dict[str, int] = {}
    started = time.monotonic()
    for number, kind in enumerate(_operations(rng, options["operations"]), 1):
        now = timezone.now()
        if kind == "risk":
            region = Region.objects.get(code=rng.choice(REGIONS))
            risk_area_create(
                actor=admin,
                region=region,
                level=rng.choice(["medium", "high"]),
                effective_from=now - timedelta(hours=rng.randint(1, 24 * 10)),
            )
        elif kind == "risk_end":
            open_areas = list(RiskArea.objects.filter(effective_to__isnull=True).order_by("pk"))
            if not open_areas:
                continue
            area = rng.choice(open_areas)
            ended = max(now - timedelta(minutes=rng.randint(1, 600)), area.effective_from + timedelta(minutes=1))
            risk_area_update(actor=admin, risk_area=area, effective_to=ended)
        elif kind == "purge":
            counts["stays_purged"] = counts.get("stays_purged", 0) + stays_purge()
        elif kind == "release":
            waiting = list(
                InboundCase.objects.filter(
                    managing_community__isnull=False, released_at__isnull=True, quarantine_ended_at__isnull=False
                ).values_list("pk", flat=True)[:200]
            )
            for pk in rng.sample(waiting, min(10, len(waiting))):
                inbound_release(actor=admin, case=InboundCase.objects.get(pk=pk))
        else:
            for _person in range(20):
                name, id_number = person_identity(rng.randrange(generated))
                cities = rng.sample(["110000", "120000", "130100", "130600", "310000", "440300", "420100"], rng.randint(1, 3))
                declaration_submit(name=name, id_number=id_number, region_codes=cities)
        counts[kind] = counts.get(kind, 0) + 1
        say(f"{number}/{options['operations']} {kind} ({time.monotonic() - started:.0f} s)")
    settle()

    say("verifying every clean, unexpired status")
    result, _run = statuses_verify(sample=None, repair=False, batch_size=options["batch_size"])
    say(
        f"verified {result.checked} in {result.seconds:.1f} s ({result.persons_per_second:.0f}/s): "
        f"{result.mismatch_count} mismatches, {result.in_flight} in flight"
    )
    for mismatch in result.mismatches[:10]:
        say(f"  {mismatch.id_masked}: stored {mismatch.stored} fresh {mismatch.fresh} last {mismatch.last_cause}")

    say("recomputing everyone inline, for the comparison")
    now = timezone.now()
    policy = policy_current()
    risks = risk_areas_current(now=now, policy=policy)
    recompute_started = time.monotonic()
    recomputed = 0
    for first, last in person_id_ranges(size=10_000):
        recomputed += statuses_recompute_range(
            first, last, now=now, cause="bench_verify", batch_size=options["batch_size"], policy=policy, risk_areas=risks
        ).evaluated
    recompute_seconds = time.monotonic() - recompute_started
    say(f"recomputed {recomputed} in {recompute_seconds:.1f} s ({recomputed / recompute_seconds:.0f}/s)")

    # Verified again right after the recompute (the tables as warm as the recompute had them): the figure.
    say("verifying everyone again")
    again, _run = statuses_verify(sample=None, repair=False, batch_size=options["batch_size"])
    say(f"verified {again.checked} in {again.seconds:.1f} s ({again.persons_per_second:.0f}/s): {again.mismatch_count} mismatches")

    say("previewing a designation of the home region as a whole (it reaches everyone)")
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    preview_started, preview_cpu = time.monotonic(), time.process_time()
    preview = risk_area_impact(
        region_code=policy.home_region, level="high", effective_from=timezone.now() - timedelta(days=2), effective_to=None
    )
    preview_seconds = time.monotonic() - preview_started
    say(f"preview of {preview.candidates} persons: {preview.changed} would change, {preview_seconds:.1f} s")
    emit(
        {
            "benchmark": "verify",
            "persons": HealthStatus.objects.count(),
            "operations": counts,
            "checked": result.checked,
            "mismatches": result.mismatch_count,
            "mismatches_of_the_decision": result.decision_count,
            "in_flight": result.in_flight,
            "first_verify_seconds": round(result.seconds, 2),
            "figure": round(again.persons_per_second),
            "figure_unit": "persons verified per second (after the recompute)",
            "verify_seconds": round(again.seconds, 2),
            "verify_ms_per_person": round(1000 * again.seconds / max(again.checked, 1), 3),
            "mismatches_after_recompute": again.mismatch_count,
            "baseline": round(recomputed / recompute_seconds),
            "baseline_unit": "persons recomputed per second (inline, same run)",
            "recompute_seconds": round(recompute_seconds, 2),
            "preview_persons": preview.candidates,
            "preview_changed": preview.changed,
            "preview_seconds": round(preview_seconds, 2),
            "preview_cpu_seconds": round(
                time.process_time() - preview_cpu + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - children_before, 2
            ),
            "load_average": os.getloadavg(),
            "target": "0 mismatches; about the cost of a recompute per person; preview of 100,000 persons < 10 s",
            "met": result.mismatch_count == 0,
        }
    )
