"""The status verifier: stored statuses re-decided by the engine, drift found, logged, counted and repaired."""
import json
import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from devtools.population import population_generate
from health.models import Designation, HealthStatus, ItineraryStay, Person, StatusEvent, StatusVerification
from health.services.persons import person_resolve
from health.services.statuses import statuses_recompute
from health.services.verification import REPAIR_CAUSE, statuses_verify, statuses_verify_batch, verifiable_ids_sample
from health.tasks import statuses_verify_sample
from tests import factories
from tests.staff.helpers import logged_in

pytestmark = pytest.mark.django_db


def city(persons: int = 300) -> list[int]:
    """A generated city with every kind of record, every status computed by the pipeline.

    Generated a minute ago: the records stamped with the generator's clock lie behind, so that which
    statuses are unexpired does not change while a test runs.
    """
    population_generate(persons=persons, seed=7, now=timezone.now() - timedelta(minutes=1))
    return list(HealthStatus.objects.order_by("person_id").values_list("person_id", flat=True))


def verify(*args) -> dict:
    """Run the command; its last stdout line is the JSON summary."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    with TestCase.captureOnCommitCallbacks(execute=True):
        call_command("verify_statuses", *args, stdout=out, stderr=err)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    summary["stderr"] = err.getvalue()
    return summary


def test_a_generated_city_verifies_with_no_mismatch():
    # given a randomised population whose statuses were computed by the pipeline
    ids = city()

    # when every person is verified
    summary = verify("--all", "--batch-size", "64")

    # then every stored status is checked and none differs from the engine's fresh decision
    verifiable = HealthStatus.objects.filter(dirty=False, computed_at__isnull=False).exclude(
        valid_until__lte=timezone.now()
    )
    assert summary["checked"] == verifiable.count() > 250
    assert (summary["mismatches"], summary["repaired"], summary["in_flight"]) == (0, 0, 0)
    assert "persons verified, 0 mismatches" in summary["stderr"]  # progress on stderr
    run = StatusVerification.objects.get()
    assert (run.scope, run.checked, run.mismatches, run.examples) == ("all", summary["checked"], 0, [])
    # and nothing was marked
    assert not HealthStatus.objects.filter(person_id__in=ids, dirty=True).exists()


def test_a_status_changed_behind_the_pipelines_back_is_found_logged_and_repaired(caplog):
    # given a city, and one person whose stored status was overwritten in SQL (no fact changed)
    ids = city(120)
    victim = HealthStatus.objects.filter(person_id__in=ids).exclude(status="no_abnormality").first()
    truth = (victim.status, victim.reasons, victim.valid_until)
    HealthStatus.objects.filter(pk=victim.pk).update(status="no_abnormality", reasons=["G1"])
    masked = Person.objects.get(pk=victim.pk).id_masked

    # when the whole city is verified without --repair
    with caplog.at_level(logging.WARNING, logger="health.services.verification"):
        summary = verify("--all")

    # then exactly that person is reported, logged with the masked ID number and both decisions
    assert (summary["mismatches"], summary["repaired"]) == (1, 0)
    [record] = [r for r in caplog.records if "status mismatch" in r.getMessage()]
    message = record.getMessage()
    assert masked in message and f"stored no_abnormality G1 until {victim.valid_until}" in message
    assert f"fresh {truth[0]} {','.join(truth[1])}" in message
    assert "last change generated" in message and "status mismatch (decision)" in message  # the cause of the last status change
    # and nothing is repaired without --repair
    assert HealthStatus.objects.get(pk=victim.pk).status == "no_abnormality"

    # when it is verified again with --repair
    summary = verify("--all", "--repair")

    # then the person is marked dirty and recomputed by the pipeline back to the engine's answer
    assert (summary["mismatches"], summary["repaired"]) == (1, 1)
    repaired = HealthStatus.objects.get(pk=victim.pk)
    assert (repaired.status, repaired.reasons, repaired.valid_until, repaired.dirty) == (*truth, False)
    event = StatusEvent.objects.filter(person_id=victim.pk).latest("pk")
    assert (event.old_status, event.new_status, event.cause) == ("no_abnormality", truth[0], REPAIR_CAUSE)
    # and a third run finds nothing
    assert verify("--all")["mismatches"] == 0


def test_a_fact_deleted_behind_the_pipelines_back_is_found_and_repaired():
    # given a designated person (集中观察), and the designation deleted with no service (no dirty mark)
    person = person_resolve(name="李四", id_number=factories.id_number())
    Designation.objects.create(
        person=person, kind=Designation.Kind.CONFIRMED, designated_at=timezone.now() - timedelta(hours=2)
    )
    statuses_recompute([person.pk], cause="designation")
    assert HealthStatus.objects.get(person=person).status == "centralized_observation"
    Designation.objects.filter(person=person).delete()

    # when a sample that includes the person is verified with repair
    summary = verify("--sample", "10", "--repair")

    # then the stale status is found and recomputed from the facts that remain
    assert (summary["checked"], summary["mismatches"], summary["repaired"]) == (1, 1, 1)
    assert HealthStatus.objects.get(person=person).status == "popup"


def test_a_wrong_valid_until_alone_is_a_mismatch_of_the_bound_not_of_the_decision():
    # given a city, and one stored valid_until moved a year ahead behind the pipeline's back
    ids = city(60)
    victim = HealthStatus.objects.filter(person_id__in=ids, valid_until__isnull=False).first()
    HealthStatus.objects.filter(pk=victim.pk).update(valid_until=victim.valid_until + timedelta(days=365))

    # when everyone is verified
    result, run = statuses_verify(sample=None)

    # then it is a mismatch (a stale answer would be served past its bound) but not a wrong decision
    assert (result.mismatch_count, result.decision_count) == (1, 0)
    assert (run.mismatches, run.decisions_differ) == (1, 0)
    assert result.mismatches[0].fresh["valid_until"] == victim.valid_until


def test_dirty_expired_and_never_computed_statuses_are_not_verified():
    # given a clean one, a dirty one, one past its valid_until and one never computed
    persons = [person_resolve(name=f"人{n}", id_number=factories.id_number(serial=n)) for n in range(4)]
    statuses_recompute([p.pk for p in persons[:3]])
    HealthStatus.objects.filter(person=persons[1]).update(dirty=True, status="no_abnormality")
    HealthStatus.objects.filter(person=persons[2]).update(
        valid_until=timezone.now() - timedelta(seconds=1), status="no_abnormality"
    )

    # when everyone is verified
    result, run = statuses_verify(sample=None)

    # then only the clean, unexpired, computed one was checked (the others are the sweep's)
    assert (result.checked, result.mismatch_count, run.checked) == (1, 0, 1)


def test_a_boundary_at_the_computations_own_moment_is_not_drift():
    # given a stay that begins at the very moment the status is computed: valid_until = that moment + 1 s
    person = person_resolve(name="王五", id_number=factories.id_number())
    moment = timezone.now()
    ItineraryStay.objects.create(person=person, region_id="110105", arrived_at=moment)
    statuses_recompute([person.pk], now=moment)
    stored = HealthStatus.objects.get(person=person)
    assert stored.valid_until == moment + timedelta(seconds=1)

    # when it is verified half a second later (the boundary now lies behind: the fresh valid_until is later)
    result = statuses_verify_batch([person.pk], repair=True, now=moment + timedelta(milliseconds=500))

    # then the stored answer, about to expire, is not counted as drift
    assert (result.checked, result.mismatch_count, result.repaired) == (1, 0, 0)


def test_the_sample_is_drawn_from_verifiable_statuses_only_and_has_the_size_asked():
    ids = city(200)
    HealthStatus.objects.filter(person_id__in=ids[:50]).update(dirty=True)

    sample = verifiable_ids_sample(40)

    assert len(sample) == len(set(sample)) == 40
    assert set(sample) <= set(ids[50:])
    assert verifiable_ids_sample(10_000) == sorted(set(ids[50:]) - set(
        HealthStatus.objects.filter(valid_until__lte=timezone.now()).values_list("person_id", flat=True)
    ))


def test_the_beat_task_verifies_a_sample_repairs_and_the_dashboard_shows_it():
    # given a city with one status overwritten behind the pipeline's back
    ids = city(150)
    victim = HealthStatus.objects.filter(person_id__in=ids).exclude(status="no_abnormality").first()
    HealthStatus.objects.filter(pk=victim.pk).update(status="no_abnormality", reasons=["G1"])

    # when the periodic task runs (as beat sends it) with a sample as large as the city
    with TestCase.captureOnCommitCallbacks(execute=True):
        outcome = statuses_verify_sample.apply(kwargs={"size": 1000}).get()

    # then it found and repaired the one drifted status
    checked = outcome["checked"]
    assert checked > 100 and (outcome["mismatches"], outcome["repaired"]) == (1, 1)
    assert HealthStatus.objects.get(pk=victim.pk).status == victim.status
    # and the health department's dashboard shows the latest run in words
    health = factories.staff(organisation=factories.department("health"))
    html = logged_in(health).get("/admin/").content.decode()
    assert f"最近校验：抽查 {checked} 人，不一致 1 人" in html
    assert "已标记重算 1 人" in html
    assert Person.objects.get(pk=victim.pk).id_masked in html
