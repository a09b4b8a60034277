"""R4 and G1 through the real pipeline: registration, recomputation on commit, community release."""

from datetime import timedelta

import pytest
from django.utils import timezone

from communities.models import QuarantineRecord
from communities.services import quarantine_register
from entrants.models import InboundCase
from health.models import HealthStatus, StatusEvent
from tests import factories
from tests.entrants.conftest import beijing, days_ago, utc

pytestmark = pytest.mark.django_db

URL = "/api/v1/entrants/"


def stored_status(person_id: int) -> tuple[str, list[str]]:
    """The stored status, as written by the recomputation enqueued on commit (not recomputed here)."""
    row = HealthStatus.objects.get(person_id=person_id)
    assert row.dirty is False
    return row.status, row.reasons


def register(client, committed, **fields):
    payload = {"person": factories.person_payload("李四"), "port": "首都机场", "origin_country": "GB", **fields}
    with committed():
        response = client.post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


# --- unmanaged cases: released by the rule, Beijing dates around midnight -----------------------------
# 23:30 Beijing is 15:30 UTC the same day; 00:30 Beijing is 16:30 UTC the day before. A UTC date
# would call the first arrival below "the next day" and the third "two days later" wrongly.
@pytest.mark.parametrize("hour, minute", [(23, 30), (0, 30)])
@pytest.mark.parametrize(
    "city_delay, expected",
    [
        (0, ("no_abnormality", ["G1", "released_inbound"])),
        (1, ("no_abnormality", ["G1", "released_inbound"])),
        (2, ("popup", ["R4", "inbound_late_arrival"])),
    ],
)
def test_arrival_after_quarantine_is_judged_on_beijing_dates(
    client_for, border_staff, committed, hour, minute, city_delay, expected
):
    # given a traveller who entered 24 days ago and ended centralized quarantine 10 days ago near midnight Beijing
    quarantine_day = days_ago(10)
    ended_at = utc(beijing(quarantine_day, hour, minute))
    if hour == 0:
        assert ended_at.date() == quarantine_day - timedelta(days=1)

    # when border control registers them with their arrival in Beijing `city_delay` Beijing days later
    body = register(
        client_for(border_staff),
        committed,
        entered_country_on=days_ago(24).isoformat(),
        quarantine_ended_at=ended_at.isoformat(),
        entered_city_on=(quarantine_day + timedelta(days=city_delay)).isoformat(),
    )

    # then the status recomputed on commit is released (same or next day) or a late-arrival popup
    case = InboundCase.objects.get(pk=body["id"])
    assert case.quarantine_ended_on == quarantine_day
    assert stored_status(case.person_id) == expected
    assert body["person_status"]["status"] == expected[0]
    assert body["person_status"]["reasons"] == expected[1]


def test_arrival_not_yet_recorded_is_unreleased(client_for, border_staff, committed):
    body = register(
        client_for(border_staff),
        committed,
        entered_country_on=days_ago(20).isoformat(),
        quarantine_ended_at=utc(beijing(days_ago(6), 10)).isoformat(),
    )
    assert body["person_status"]["reasons"] == ["R4", "inbound_unreleased"]


def test_recording_the_arrival_later_releases(client_for, border_staff, committed):
    # given a registered case without the arrival in Beijing
    client = client_for(border_staff)
    body = register(
        client,
        committed,
        entered_country_on=days_ago(20).isoformat(),
        quarantine_ended_at=utc(beijing(days_ago(6), 23, 30)).isoformat(),
    )
    person_id = InboundCase.objects.get(pk=body["id"]).person_id
    assert stored_status(person_id) == ("popup", ["R4", "inbound_unreleased"])

    # when border control records the arrival the next day
    with committed():
        response = client.patch(f"{URL}{body['id']}/", {"entered_city_on": days_ago(5).isoformat()}, format="json")

    # then the status is recomputed on commit: released
    assert response.status_code == 200, response.json()
    assert stored_status(person_id) == ("no_abnormality", ["G1", "released_inbound"])


# --- the observation period ---------------------------------------------------------------------
def test_observation_period_ending_ends_r4(client_for, border_staff, committed):
    # given one traveller who entered 28 days ago and one 29 days ago, neither released
    client = client_for(border_staff)
    last_day = register(client, committed, entered_country_on=days_ago(28).isoformat())
    over = register(client, committed, entered_country_on=days_ago(29).isoformat())

    # then the 28th day is still within observation, the 29th is not: no R4 any more
    assert last_day["person_status"]["reasons"] == ["R4", "inbound_unreleased"]
    assert over["person_status"] == {
        **over["person_status"],
        "status": "popup",
        "reasons": ["P", "itinerary_unverifiable", "itinerary_not_declared"],
    }
    # and the 28-day case's status is due again at midnight Beijing when its period ends
    assert last_day["person_status"]["valid_until"] is not None
    valid_until = timezone.datetime.fromisoformat(last_day["person_status"]["valid_until"])
    assert valid_until == beijing(days_ago(28) + timedelta(days=29), 0)


# --- community-managed cases -----------------------------------------------------------------------
def test_managed_case_is_unreleased_until_its_community_releases_it(
    client_for, border_staff, community, community_staff, committed
):
    # given a case handed to a community, whose quarantine ended and who arrived the same day
    quarantine_day = days_ago(8)
    body = register(
        client_for(border_staff),
        committed,
        entered_country_on=days_ago(22).isoformat(),
        quarantine_ended_at=utc(beijing(quarantine_day, 9)).isoformat(),
        entered_city_on=quarantine_day.isoformat(),
        community_code=community.code,
    )
    person_id = InboundCase.objects.get(pk=body["id"]).person_id
    # then the rule does not release it: only the community does
    assert stored_status(person_id) == ("popup", ["R4", "inbound_unreleased"])

    # when the community releases it
    released_at = utc(beijing(days_ago(1), 10))
    with committed():
        response = client_for(community_staff).post(
            f"{URL}{body['id']}/release/", {"released_at": released_at.isoformat()}, format="json"
        )

    # then the answer carries the recomputed status, and the stored one agrees
    assert response.status_code == 200, response.json()
    assert response.json()["released_at"] is not None
    assert response.json()["person_status"]["reasons"] == ["G1", "released_inbound"]
    assert stored_status(person_id) == ("no_abnormality", ["G1", "released_inbound"])
    case = InboundCase.objects.get(pk=body["id"])
    assert case.released_at == released_at
    assert case.released_by == community_staff


def test_release_lifts_the_persons_quarantine_in_that_community_at_the_same_moment(
    client_for, border_staff, community, community_staff, other_community, committed
):
    # given a managed case whose person is in home quarantine in that community and in another one
    person = factories.person_payload("王五")
    body = register(
        client_for(border_staff),
        committed,
        person=person,
        entered_country_on=days_ago(15).isoformat(),
        community_code=community.code,
    )
    started_at = utc(beijing(days_ago(14), 8))
    with committed():
        own = quarantine_register(
            actor=None,
            community=community,
            person_name="王五",
            id_number=person["id_number"],
            kind="home",
            started_at=started_at,
        )
        elsewhere = quarantine_register(
            actor=None,
            community=other_community,
            person_name="王五",
            id_number=person["id_number"],
            kind="home",
            started_at=started_at,
        )
    person_id = own.person_id
    assert stored_status(person_id) == ("home_observation", ["R2", "quarantine_home"])

    # when the community releases the inbound case
    released_at = (timezone.now() - timedelta(minutes=1)).replace(microsecond=0)
    with committed():
        response = client_for(community_staff).post(
            f"{URL}{body['id']}/release/", {"released_at": released_at.isoformat()}, format="json"
        )

    # then its own quarantine is lifted at exactly the release; the other community's is not
    assert response.status_code == 200, response.json()
    own.refresh_from_db()
    elsewhere.refresh_from_db()
    assert own.lifted_at == released_at
    assert elsewhere.lifted_at is None
    assert stored_status(person_id) == ("home_observation", ["R2", "quarantine_home"])

    # and once the other is lifted too, both releases count: the tie lists both reasons
    from communities.services import quarantine_lift

    with committed():
        quarantine_lift(actor=None, record=elsewhere, lifted_at=released_at)
    assert stored_status(person_id) == ("no_abnormality", ["G1", "released_quarantine", "released_inbound"])


def test_release_alone_of_a_quarantined_person_gives_no_abnormality(
    client_for, border_staff, community, community_staff, committed
):
    # given a managed case whose person is in centralized quarantine in that community
    person = factories.person_payload("赵六")
    body = register(
        client_for(border_staff),
        committed,
        person=person,
        entered_country_on=days_ago(15).isoformat(),
        community_code=community.code,
    )
    with committed():
        record = quarantine_register(
            actor=community_staff,
            community=community,
            person_name="赵六",
            id_number=person["id_number"],
            kind="centralized",
            started_at=utc(beijing(days_ago(14), 8)),
        )
    assert stored_status(record.person_id) == ("centralized_observation", ["R2", "quarantine_centralized"])

    # when the community releases the case (at now, the default)
    with committed():
        response = client_for(community_staff).post(f"{URL}{body['id']}/release/", {}, format="json")

    # then one action ends both: the quarantine is lifted at released_at and the person is released
    assert response.status_code == 200, response.json()
    record.refresh_from_db()
    case = InboundCase.objects.get(pk=body["id"])
    assert record.lifted_at == case.released_at
    assert record.lifted_by == community_staff
    assert stored_status(record.person_id) == ("no_abnormality", ["G1", "released_quarantine", "released_inbound"])


def test_another_community_is_refused_and_nothing_changes(
    client_for, border_staff, community, other_community_staff, committed
):
    # given a case managed by one community
    body = register(
        client_for(border_staff), committed, entered_country_on=days_ago(10).isoformat(), community_code=community.code
    )
    case = InboundCase.objects.get(pk=body["id"])
    before = HealthStatus.objects.get(person_id=case.person_id)
    events = StatusEvent.objects.count()

    # when another community tries to release it
    with committed():
        response = client_for(other_community_staff).post(f"{URL}{body['id']}/release/", {}, format="json")

    # then it is not found, and nothing changed
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.released_at is None and case.released_by is None
    after = HealthStatus.objects.get(person_id=case.person_id)
    assert (after.status, after.reasons, after.inputs_version) == (before.status, before.reasons, before.inputs_version)
    assert StatusEvent.objects.count() == events


def test_releasing_twice_is_refused(client_for, border_staff, community, community_staff, committed):
    body = register(
        client_for(border_staff), committed, entered_country_on=days_ago(10).isoformat(), community_code=community.code
    )
    client = client_for(community_staff)
    with committed():
        assert client.post(f"{URL}{body['id']}/release/", {}, format="json").status_code == 200
    first = InboundCase.objects.get(pk=body["id"]).released_at

    with committed():
        response = client.post(f"{URL}{body['id']}/release/", {}, format="json")

    assert response.status_code == 400
    assert InboundCase.objects.get(pk=body["id"]).released_at == first


def test_release_of_an_unmanaged_case_is_refused(client_for, border_staff, admin_user, committed):
    body = register(client_for(border_staff), committed, entered_country_on=days_ago(10).isoformat())

    response = client_for(admin_user).post(f"{URL}{body['id']}/release/", {}, format="json")

    assert response.status_code == 400
    assert InboundCase.objects.get(pk=body["id"]).released_at is None


@pytest.mark.parametrize("who", ["border_staff", "hotel_staff"])
def test_release_by_a_kind_that_may_not_release_is_forbidden(
    request, client_for, border_staff, community, committed, who
):
    body = register(
        client_for(border_staff), committed, entered_country_on=days_ago(10).isoformat(), community_code=community.code
    )

    response = client_for(request.getfixturevalue(who)).post(f"{URL}{body['id']}/release/", {}, format="json")

    assert response.status_code == 403
    assert InboundCase.objects.get(pk=body["id"]).released_at is None


def test_admin_may_release(client_for, border_staff, community, admin_user, committed):
    body = register(
        client_for(border_staff), committed, entered_country_on=days_ago(10).isoformat(), community_code=community.code
    )
    with committed():
        response = client_for(admin_user).post(f"{URL}{body['id']}/release/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["person_status"]["reasons"] == ["G1", "released_inbound"]


def test_release_before_entry_is_refused(client_for, border_staff, community, community_staff, committed):
    body = register(
        client_for(border_staff), committed, entered_country_on=days_ago(10).isoformat(), community_code=community.code
    )

    response = client_for(community_staff).post(
        f"{URL}{body['id']}/release/", {"released_at": utc(beijing(days_ago(11), 23, 59)).isoformat()}, format="json"
    )

    assert response.status_code == 400
    assert "released_at" in response.json()
    assert InboundCase.objects.get(pk=body["id"]).released_at is None
    assert not QuarantineRecord.objects.exists()


def test_quarantine_registered_after_a_release_with_an_earlier_start_is_active(
    client_for, border_staff, community, community_staff, committed
):
    # given a managed case released by its community yesterday, with no quarantine then
    person = factories.person_payload("孙七")
    body = register(
        client_for(border_staff),
        committed,
        person=person,
        entered_country_on=days_ago(15).isoformat(),
        community_code=community.code,
    )
    worker = client_for(community_staff)
    released_at = (timezone.now() - timedelta(days=1)).replace(microsecond=0)
    with committed():
        released = worker.post(f"{URL}{body['id']}/release/", {"released_at": released_at.isoformat()}, format="json")
    assert released.status_code == 200, released.json()
    person_id = InboundCase.objects.get(pk=body["id"]).person_id
    assert stored_status(person_id) == ("no_abnormality", ["G1", "released_inbound"])

    # when the community then registers a home quarantine that started three days ago, before the release
    with committed():
        created = worker.post(
            f"/api/v1/communities/{community.code}/quarantines/",
            {"person": person, "kind": "home", "started_at": (released_at - timedelta(days=2)).isoformat()},
            format="json",
        )

    # then the record is not lifted, the person is in home observation, and the community's active list agrees
    assert created.status_code == 201, created.json()
    assert created.json()["lifted_at"] is None
    assert created.json()["status"]["status"] == "home_observation"
    assert stored_status(person_id) == ("home_observation", ["R2", "quarantine_home"])
    active = worker.get(f"/api/v1/communities/{community.code}/quarantines/?active=true").json()
    rows = active["results"] if isinstance(active, dict) else active
    assert [row["id"] for row in rows] == [created.json()["id"]]
    assert InboundCase.objects.get(pk=body["id"]).released_at == released_at
