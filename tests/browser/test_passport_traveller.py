"""A passport-holding inbound traveller through the seed's third rule, in Chromium: border control
registers them by passport (the document type selector showing the nationality), the community
releases them, and the public status query by passport answers 未见异常. Screenshots: var/screenshots/."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from communities.services import community_create
from entrants.models import InboundCase
from health.models import HealthStatus
from tests import factories
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSPORT = {"name": "Anna MÜLLER", "document_type": "passport", "document_number": "C01X00T47", "nationality": "DEU"}


def query(page, **change) -> dict:
    response = page.request.post("/api/v1/status/query/", data=json.dumps({**PASSPORT, **change}),
                                 headers={"Content-Type": "application/json"})
    assert response.status == 200
    return response.json()


def test_a_passport_holder_is_registered_by_border_released_by_the_community_and_answers_no_abnormality(page, shot):
    community = community_create(code="JW", name="建外社区", region_code="110105")
    factories.staff("jw-worker", organisation=community)
    factories.staff("border-clerk", organisation=factories.department("border"))
    # when border control registers her by passport, naming the state in Chinese
    login(page, "border-clerk")
    page.goto("/admin/entrants/inboundcase/add/")
    assert not page.locator("#id_nationality").is_visible()  # a resident ID needs no nationality
    page.fill("#id_person_name", PASSPORT["name"])
    page.select_option("#id_document_type", "passport")
    assert page.locator("#id_nationality").is_visible()  # the selector shows the fields a passport needs
    page.fill("#id_id_number", PASSPORT["document_number"])
    page.fill("#id_nationality", "德国")
    entered = timezone.localtime() - timedelta(days=16)
    ended = timezone.localtime() - timedelta(days=2)
    page.fill("#id_entered_country_on", entered.strftime("%Y-%m-%d"))
    page.select_option("#id_port_of_entry", "北京首都国际机场")
    page.fill("#id_origin_country", "德国 DE")
    page.fill("#id_quarantine_ended_at_0", ended.strftime("%Y-%m-%d"))
    page.fill("#id_quarantine_ended_at_1", "09:00:00")
    page.fill("#id_entered_city_on", ended.strftime("%Y-%m-%d"))
    page.select_option("#id_managing_community", str(community.pk))
    shot("passport-01-border-form")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    shot("passport-02-registered")
    case = InboundCase.objects.select_related("person").get()
    assert (case.person.document_type, case.person.nationality) == ("passport", "DEU")
    assert PASSPORT["document_number"] not in page.content()
    # then, under the community's management, the query by passport answers 弹窗 (R4)
    assert query(page)["reasons"][0] == "R4"
    # when the community worker releases her
    page.context.clear_cookies()
    login(page, "jw-worker")
    page.goto("/admin/entrants/inboundcase/")
    page.check(f"input[name=_selected_action][value='{case.pk}']")
    page.select_option("select[name=action]", "release_selected")
    page.click("button[name=index]")
    page.wait_for_selector("input[type=submit][value='确认解除观察']")
    assert "C0*****47" in page.content()
    shot("passport-03-release-confirm")
    page.click("input[type=submit][value='确认解除观察']")
    page.wait_for_selector(".messagelist")
    shot("passport-04-released")
    # then the public query by passport answers 未见异常, whatever the case of the name
    answer = query(page, name="anna müller")
    assert (answer["label"], answer["reasons"]) == ("未见异常", ["G1", "released_inbound"])
    assert HealthStatus.objects.get(person=case.person).status == HealthStatus.Code.NO_ABNORMALITY
