"""One notion of risk reach: the places a designation can make risky, for the engine and the fan-out alike.

The rules page's definition ("Regions", "Risk") is restated here on its own, and checked against the
engine's `risk_reach` over every pair of codes of the GB/T 2260 table; then the engine's whole
decision, for a place as a stay, an origin and a hotel, changes exactly where the fan-out selects;
then the fan-out's SQL selects exactly what `risk_reach` covers; then the real path, over the API.
"""
from __future__ import annotations

import os
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from django.test import TestCase
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from health.engine import (
    CheckInFact,
    DeclarationFact,
    NatTestFact,
    PersonFacts,
    Policy,
    RiskAreas,
    RiskFact,
    StayFact,
    evaluate,
)
from health.engine.regions import risk_reach
from health.facts import region_reach_q
from health.models import HealthStatus, ItineraryStay, Person
from health.regions_data import region_rows
from hotels import services as hotel_services
from tests import factories
from tests.health.helpers import ago

BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2022, 5, 20, 12, 0, tzinfo=BEIJING)
CODES = sorted({row[0] for row in region_rows()})
BY_PROVINCE: dict[str, list[str]] = defaultdict(list)
for _code in CODES:
    BY_PROVINCE[_code[:2]].append(_code)
# A provincial home, a prefecture-level home, and a municipality other than the default.
HOMES = ["110000", "130100", "310000"]


# --- the rules page, restated ------------------------------------------------------------------
MUNICIPALITIES = {"11", "12", "31", "50"}


def spec_normalize(code: str) -> str:
    """XX0100 and XX0200 of a municipality are synonyms of XX0000."""
    return code[:2] + "0000" if code[:2] in MUNICIPALITIES and code[2:] in ("0100", "0200") else code


def spec_city(code: str) -> str:
    """Its XXYY00 for a district; XX0000 for a municipality's code; itself for XX90YY, a city or a province."""
    code = spec_normalize(code)
    if code[2:] == "0000":
        return code
    if code[:2] in MUNICIPALITIES:
        return code[:2] + "0000"
    if code[4:] == "00" or code[2:4] == "90":
        return code
    return code[:4] + "00"


def spec_prefix(code: str) -> str:
    code = spec_normalize(code)
    return code[:2] if code[2:] == "0000" else code[:4] if code[4:] == "00" else code


def spec_contains(outer: str, inner: str) -> bool:
    return spec_normalize(inner).startswith(spec_prefix(outer))


def spec_reached(region: str, place: str, home: str) -> bool:
    """status-rules.md, "Risk": at home the region contains the place as given; elsewhere, its city either way."""
    if spec_contains(home, place):
        return spec_contains(region, place)
    city = spec_city(place)
    return spec_contains(region, city) or spec_contains(city, region)


# --- the one function against the rules page, over the whole table --------------------------------
@pytest.mark.parametrize("home", HOMES[:2])
def test_the_engine_finds_risky_exactly_the_places_the_rules_page_says_over_the_whole_table(home):
    # given every code of the table designated at once, province by province
    mismatches = []
    home_prefix = spec_prefix(home)
    for codes in BY_PROVINCE.values():
        risks = RiskAreas([RiskFact(region, "high", NOW - timedelta(days=1)) for region in codes])
        regions = [(region, spec_normalize(region), spec_prefix(region), risk_reach(region, home)) for region in codes]
        for place in codes:
            # when the engine lists the designations that make each place risky
            engine = {risk.region for risk in risks.relevant(place, home)}
            # then they are exactly those the rules page names, and the fan-out's selection agrees
            normal, city = spec_normalize(place), spec_city(place)
            city_prefix = spec_prefix(city)
            if normal.startswith(home_prefix):
                expected = {region for region, _, prefix, _ in regions if normal.startswith(prefix)}
            else:
                expected = {
                    region for region, folded, prefix, _ in regions if city.startswith(prefix) or folded.startswith(city_prefix)
                }
            selected = {region for region, _, _, reach in regions if reach.covers(place)}
            if engine != expected or selected != expected:
                mismatches.append((place, sorted(engine ^ expected), sorted(selected ^ expected)))
    assert mismatches == []


@pytest.mark.parametrize("home", HOMES)
def test_a_designation_never_reaches_out_of_its_province(home):
    # given every code designated: every prefix and code of its reach lies in its province
    for region in CODES:
        reach = risk_reach(region, home)
        terms = [prefix for prefix, _but in reach.prefixes] + list(reach.exact)
        assert terms, region  # a designation reaches at least something (itself)
        assert all(term.startswith(region[:2]) for term in terms), (region, reach)
        # and the region itself, wherever it lies, is always reached by its own designation
        assert reach.covers(region), region


@pytest.mark.parametrize(
    ("region", "place", "home", "reached"),
    [
        ("429004", "429000", "110000", True),  # 仙桃 and the grouping of its province's directly governed cities
        ("429004", "420000", "110000", True),  # and its province coded as a whole
        ("429004", "429005", "110000", False),  # not another directly governed city
        ("429004", "420100", "110000", False),  # nor Wuhan
        ("429000", "429004", "110000", True),
        ("110105", "110100", "110000", False),  # at home only what the district contains as given
        ("110000", "110100", "110000", True),  # a synonym of Beijing as a whole
        ("120101", "120200", "110000", True),  # a synonym of Tianjin, whose districts make the city risky
        ("310105", "310200", "110000", True),
        ("310105", "310200", "310000", False),  # but not in Shanghai when Shanghai is home
        ("500300", "500101", "110000", True),
        ("130104", "130000", "130100", True),  # a province as a whole, outside a prefecture-level home
        ("130104", "130102", "130100", False),  # a district at home reaches only itself
        ("130000", "130102", "130100", True),
        ("460001", "460000", "110000", True),  # Hainan's old counties coded under the province
    ],
)
def test_special_shapes_of_codes(region, place, home, reached):
    assert spec_reached(region, place, home) is reached
    assert risk_reach(region, home).covers(place) is reached


# --- the engine's whole decision changes exactly where the fan-out selects ----------------------
def facts_with_place(place: str, role: str, elsewhere: str) -> PersonFacts:
    """A person for whom `place` is verified (G3) or a qualifying check-in (G2); `elsewhere` is another province."""
    certificate = (NatTestFact(NOW - timedelta(days=1), "negative", "certificate"),)
    if role == "stay":
        return PersonFacts(
            stays=(StayFact(place, NOW - timedelta(days=3), NOW - timedelta(days=2)),),
            declarations=(DeclarationFact(NOW - timedelta(hours=1), (place,)),),
        )
    hotel, origin = (elsewhere, place) if role == "origin" else (place, elsewhere)
    return PersonFacts(checkins=(CheckInFact(hotel, NOW - timedelta(hours=2), origin, False, None, certificate),))


@st.composite
def designation_and_place(draw):
    region = draw(st.sampled_from(CODES))
    # Often a place of the same province (where reach is decided), otherwise any code at all.
    place = draw(st.one_of(st.sampled_from(BY_PROVINCE[region[:2]]), st.sampled_from(CODES)))
    return region, place


@settings(
    max_examples=int(os.environ.get("ENGINE_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    pair=designation_and_place(),
    role=st.sampled_from(["stay", "origin", "hotel"]),
    home=st.sampled_from(HOMES),
    level=st.sampled_from(["medium", "high"]),
)
@example(pair=("429004", "429000"), role="origin", home="110000", level="high")
@example(pair=("429004", "429000"), role="stay", home="110000", level="high")
@example(pair=("120101", "120200"), role="hotel", home="110000", level="medium")
@example(pair=("130104", "130000"), role="stay", home="130100", level="high")
@example(pair=("110105", "110100"), role="hotel", home="110000", level="high")
def test_a_decision_changes_with_a_designation_exactly_where_the_fan_out_selects(pair, role, home, level):
    region, place = pair
    elsewhere = "440106" if region[:2] != "44" else "350102"
    policy = Policy(home_region=home)
    facts = facts_with_place(place, role, elsewhere)
    # when the region is designated, before the person's place was there
    before = evaluate(facts, now=NOW, policy=policy, risk_areas=())
    after = evaluate(facts, now=NOW, policy=policy, risk_areas=[RiskFact(region, level, NOW - timedelta(days=10))])
    changed = (before.status, before.reasons, before.valid_until) != (after.status, after.reasons, after.valid_until)
    # then the decision changed if and only if the fan-out's selection covers the place
    assert changed is risk_reach(region, home).covers(place)
    assert changed is spec_reached(region, place, home)


# --- the fan-out's SQL selects what the reach covers -----------------------------------------------
# Every shape of code: Beijing (at home), Chongqing (XXYY00 below a municipality), Hainan (XX00YY),
# Hubei's XX9000 and XX90YY, Shijiazhuang and every province; Beijing again under a district home,
# where Beijing is reached but for that district.
SQL_CASES = [
    (code, "110000")
    for code in CODES
    if code[:2] in ("11", "46", "50") or code[:3] == "429" or code[:4] == "1301" or code.endswith("0000")
] + [(code, "110105") for code in BY_PROVINCE["11"]] + [(code, "130100") for code in CODES if code[:4] == "1301"]


@pytest.mark.django_db
def test_the_fan_out_query_selects_exactly_the_codes_the_reach_covers():
    # given one stay at every code of the table
    person = Person.objects.create(name="张三", id_digest="digest-reach", id_masked="x")
    ItineraryStay.objects.bulk_create(ItineraryStay(person=person, region_id=code, arrived_at=NOW) for code in CODES)
    for region, home in SQL_CASES:
        # when a region is designated
        reach = risk_reach(region, home)
        selected = set(ItineraryStay.objects.filter(region_reach_q(reach)).values_list("region_id", flat=True))
        # then the query finds exactly the codes the engine's reach covers
        assert selected == {code for code in CODES if reach.covers(code)}, (region, home)
    assert any(but for region, home in SQL_CASES for _prefix, but in risk_reach(region, home).prefixes)


# --- the real path ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_guest_from_429000_is_popped_up_when_xiantao_is_designated_over_the_api(client_for):
    # given a guest at a Beijing hotel whose origin is coded 429000, verified by a negative certificate (G2)
    hotel = hotel_services.hotel_create(code="bj-hotel-1", name="北京前门饭店", region_code="110101")
    checked_in_at = datetime.now(BEIJING) - timedelta(hours=2)
    with TestCase.captureOnCommitCallbacks(execute=True):
        checkin = hotel_services.checkin_register(
            actor=None,
            hotel=hotel,
            person_name="王芳",
            id_number=factories.id_number(),
            checked_in_at=checked_in_at,
            origin_region_code="429000",
            health_management_accepted=False,
            nat_tests=[{"sampled_at": checked_in_at - timedelta(days=1), "result": "negative", "source": "certificate"}],
        )
    assert HealthStatus.objects.get(person_id=checkin.person_id).reasons == ["G2", "hotel_stay"]
    version = HealthStatus.objects.get(person_id=checkin.person_id).inputs_version

    # when the health department designates 仙桃 (429004) high-risk over the API
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client_for(factories.staff(organisation=factories.department("health"))).post(
            "/api/v1/risk-areas/", {"region_code": "429004", "level": "high", "effective_from": ago(days=3)}, format="json"
        )

    # then the guest was marked by the fan-out and is now 弹窗 for the hotel requirements
    assert response.status_code == 201
    status = HealthStatus.objects.get(person_id=checkin.person_id)
    assert status.inputs_version == version + 1
    assert status.dirty_cause == "risk_area"
    assert (status.status, status.reasons) == ("popup", ["P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared"])
    assert status.dirty is False
