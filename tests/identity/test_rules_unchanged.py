"""Rules unchanged by documents: the engine reads a person's records, never who they are or where an ID
number says they registered (docs/rules.md, "Identity documents")."""
import dataclasses
from datetime import timedelta

import pytest
from django.utils import timezone

from communities.services import community_create, quarantine_register
from entrants.services import inbound_register
from health.engine.facts import PersonFacts
from health.identity import document_clean
from health.models import HealthStatus
from health.services.statuses import person_status_fresh
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_facts_the_rules_read_name_no_identity():
    assert [field.name for field in dataclasses.fields(PersonFacts)] == [
        "designations", "quarantines", "checkins", "inbound_cases", "stays", "declarations"]


@pytest.mark.parametrize("document", [
    lambda: factories.id_number(region="650102"),  # a resident ID of Xinjiang: another home province
    lambda: factories.id_number(region="810000"),  # a Hong Kong resident's residence permit
    lambda: document_clean("passport", number="X1234567", nationality="USA"),
    lambda: document_clean("taiwan_permit", number="01234567"),
    lambda: document_clean("foreign_permanent_residence", number="USA110080101001", nationality="USA"),
])
def test_the_same_records_give_the_same_status_whatever_document_keyed_the_person(document):
    now = timezone.now()
    community = community_create(code="C-R", name="社区", region_code="110105")

    def traveller(name, number):
        case = inbound_register(
            actor=None, person_name=name, id_number=number, entered_country_on=(now - timedelta(days=16)).date(),
            port="首都机场", origin_country="SG", community_code="C-R", quarantine_ended_at=now - timedelta(days=2),
            entered_city_on=(now - timedelta(days=2)).date())
        quarantine_register(actor=None, community=community, person_name=name, id_number=number, kind="home",
                            started_at=now - timedelta(days=2))
        return person_status_fresh(case.person_id)

    beijing = traveller("甲", factories.id_number(region="110105"))
    other = traveller("乙", document())
    assert (other.status, other.reasons, other.valid_until) == (beijing.status, beijing.reasons, beijing.valid_until)
    assert HealthStatus.objects.count() == 2
