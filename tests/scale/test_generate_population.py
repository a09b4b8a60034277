"""The synthetic city: every kind of record written in bulk, statuses computed by the one recompute path."""
import json

import pytest
from django.core.management import call_command

from communities.models import QuarantineRecord
from devtools.population import person_identity
from entrants.models import InboundCase
from health.identity import id_number_digest
from health.models import Designation, HealthStatus, ItineraryDeclaration, ItineraryStay, Person, RiskArea
from hotels.models import CheckIn, NucleicAcidTest

pytestmark = pytest.mark.django_db


def test_generate_population_writes_every_kind_of_record_and_computes_statuses(capsys):
    # when a small city is generated
    call_command("generate_population", "--persons", "500", "--seed", "5")

    # then it reports what it wrote, and every kind of record exists
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert counts["persons"] == Person.objects.count() == HealthStatus.objects.count() == 500
    assert counts["stays"] == ItineraryStay.objects.count() >= 500
    assert counts["declarations"] == ItineraryDeclaration.objects.count() > 0
    assert counts["quarantines"] == QuarantineRecord.objects.count() >= 1
    assert counts["checkins"] == CheckIn.objects.count() >= 1
    assert counts["nat_tests"] == NucleicAcidTest.objects.count() >= 1
    assert counts["inbound_cases"] == InboundCase.objects.count() >= 1
    assert counts["designations"] == Designation.objects.count() >= 1
    assert RiskArea.objects.count() == counts["risk_areas"] == 5
    # and every status is computed and clean, with more than one outcome in the city
    assert not HealthStatus.objects.filter(computed_at__isnull=True).exists()
    assert not HealthStatus.objects.filter(dirty=True).exists()
    assert {"popup", "no_abnormality", "centralized_observation"} <= set(
        HealthStatus.objects.values_list("status", flat=True)
    )
    # and no plain ID number is stored: person n is found by the digest of its number, masked otherwise
    name, number = person_identity(42)
    person = Person.objects.get(id_digest=id_number_digest(number))
    assert (person.name, person.id_masked) == (name, number[:6] + "********" + number[-4:])


def test_a_second_run_adds_persons_after_the_first():
    call_command("generate_population", "--persons", "120", "--no-compute")
    call_command("generate_population", "--persons", "80", "--no-compute", "--seed", "2")

    assert Person.objects.count() == 200
    assert Person.objects.filter(id_digest=id_number_digest(person_identity(199)[1])).exists()
    # --no-compute leaves the statuses to the workers and the sweep
    assert HealthStatus.objects.filter(dirty=True).count() == 200
