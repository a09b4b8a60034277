"""The front desk's admin through Django's test client: register with a test inline, current guests, 办理离店."""
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from health.display import beijing_time
from health.models import HealthStatus, Person
from hotels import services
from hotels.models import CheckIn, NucleicAcidTest
from tests import factories
from tests.hotels.conftest import register, status_of

ADD = "/admin/hotels/checkin/add/"
LIST = "/admin/hotels/checkin/"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def split(moment) -> tuple[str, str]:
    local = timezone.localtime(moment)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")


def registration(*, name, number, checked_in_at, tests=(), origin="310104", accepted=False) -> dict:
    day, time = split(checked_in_at)
    data = {
        "person_name": name,
        "id_number": number,
        "checked_in_at_0": day,
        "checked_in_at_1": time,
        "origin_region": origin,
        "nat_tests-TOTAL_FORMS": str(max(len(tests), 1)),
        "nat_tests-INITIAL_FORMS": "0",
        "nat_tests-MIN_NUM_FORMS": "0",
        "nat_tests-MAX_NUM_FORMS": "1000",
        "_save": "保存",
    }
    if accepted:
        data["health_management_accepted"] = "on"
    for index, (at, result, source) in enumerate(tests):
        day, time = split(at)
        data.update(
            {
                f"nat_tests-{index}-sampled_at_0": day,
                f"nat_tests-{index}-sampled_at_1": time,
                f"nat_tests-{index}-result": result,
                f"nat_tests-{index}-source": source,
            }
        )
    return data


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_desk_registers_a_guest_with_a_certificate_and_sees_no_abnormality(desk, hotel):
    # given the registration page of the desk's admin
    client = logged_in(desk)
    page = client.get(ADD)
    assert page.status_code == 200
    assert "身份证号" in page.content.decode()
    assert 'name="hotel"' not in page.content.decode()  # a desk registers at its own hotel only
    # when the desk registers a guest with a certificate sampled two days ago
    checked_in_at = (timezone.now() - timedelta(minutes=30)).replace(second=0, microsecond=0)
    number = factories.id_number()
    data = registration(name="张三", number=number, checked_in_at=checked_in_at, tests=[(checked_in_at - timedelta(days=2), "negative", "certificate")])
    response = client.post(ADD, data, follow=True)
    # then the guest is registered at the desk's hotel, with the test, and the page says 未见异常
    assert response.status_code == 200
    checkin = CheckIn.objects.get()
    assert (checkin.hotel, checkin.created_by, checkin.person.name, checkin.checked_in_at) == (hotel, desk, "张三", checked_in_at)
    assert list(checkin.nat_tests.values_list("result", "source", "recorded_by")) == [("negative", "certificate", desk.pk)]
    *_added, message = messages_of(response)
    assert "未见异常" in message and "在住酒店核验通过" in message and "张三" in message
    assert "G2" not in message and "hotel_stay" not in message
    assert HealthStatus.objects.get(person=checkin.person).status == "no_abnormality"
    # and the current guests list shows the status; the plain ID number appears nowhere
    body = response.content.decode()
    assert "未见异常" in body and number not in body


def test_registration_errors_write_nothing_and_keep_the_id_number_in_its_field_only(desk, hotel):
    client = logged_in(desk)
    number = factories.id_number()
    data = registration(
        name="张三",
        number=number,
        checked_in_at=timezone.now() - timedelta(minutes=30),
        origin="999999",
        tests=[(timezone.now() + timedelta(hours=2), "negative", "hotel")],
    )
    response = client.post(ADD, data)
    assert response.status_code == 200  # the form comes back with errors
    body = response.content.decode()
    assert body.count(number) == 1
    assert "该时间不能晚于当前时间" in body
    assert (Person.objects.count(), CheckIn.objects.count(), NucleicAcidTest.objects.count()) == (0, 0, 0)


def test_registration_of_a_known_number_under_another_name_is_a_form_error(desk, hotel):
    number = factories.id_number()
    register(hotel, checked_in_at=timezone.now() - timedelta(hours=3), number=number, name="王五")
    response = logged_in(desk).post(ADD, registration(name="赵六", number=number, checked_in_at=timezone.now()))
    assert response.status_code == 200
    assert "该身份证号码已登记为另一姓名" in response.content.decode()
    assert CheckIn.objects.count() == 1


def test_hotel_test_without_health_management_is_registered_and_shows_popup(desk, hotel):
    checked_in_at = (timezone.now() - timedelta(minutes=30)).replace(second=0, microsecond=0)
    data = registration(name="李四", number=factories.id_number(), checked_in_at=checked_in_at, tests=[(checked_in_at + timedelta(minutes=5), "negative", "hotel")])
    response = logged_in(desk).post(ADD, data, follow=True)
    *_added, message = messages_of(response)
    # the status, the reason in words and which fact decided it; no code
    sampled = beijing_time(checked_in_at + timedelta(minutes=5))
    assert f"健康状态：弹窗。不满足入住条件：酒店检测采样于 {sampled}，但客人未接受健康管理，不能作为依据" in message
    assert "hotel_requirements_unmet" not in message


def test_adding_a_hotel_result_on_the_change_page_recomputes(desk, hotel):
    checked_in_at = timezone.now() - timedelta(hours=1)
    checkin = register(hotel, checked_in_at=checked_in_at, accepted=True)
    day, time = split(checked_in_at + timedelta(minutes=10))
    data = {
        "nat_tests-TOTAL_FORMS": "1",
        "nat_tests-INITIAL_FORMS": "0",
        "nat_tests-MIN_NUM_FORMS": "0",
        "nat_tests-MAX_NUM_FORMS": "1000",
        "nat_tests-0-sampled_at_0": day,
        "nat_tests-0-sampled_at_1": time,
        "nat_tests-0-result": "negative",
        "nat_tests-0-source": "hotel",
        "_save": "保存",
    }
    response = logged_in(desk).post(f"{LIST}{checkin.pk}/change/", data, follow=True)
    assert response.status_code == 200
    assert NucleicAcidTest.objects.filter(checkin=checkin).count() == 1
    assert any("未见异常" in message for message in messages_of(response))
    assert status_of(checkin.person_id).reasons == ["G2", "hotel_stay"]


def test_current_guests_list_shows_own_guests_with_status_only(desk, hotel, other_hotel):
    checked_in_at = timezone.now() - timedelta(hours=2)
    mine = register(hotel, checked_in_at=checked_in_at, name="本店客人", tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    left = register(hotel, checked_in_at=checked_in_at, name="离店客人")
    register(other_hotel, checked_in_at=checked_in_at, name="别家客人")
    CheckIn.objects.filter(pk=left.pk).update(checked_out_at=timezone.now())
    status_of(mine.person_id)
    body = logged_in(desk).get(LIST).content.decode()
    assert "本店客人" in body and "未见异常" in body
    assert "离店客人" not in body  # current guests by default
    assert "别家客人" not in body
    assert "别家客人" not in logged_in(desk).get(LIST, {"stay": "all"}).content.decode()


def test_checkout_action_asks_for_confirmation_then_checks_out(desk, hotel):
    checked_in_at = timezone.now() - timedelta(days=1)
    checkin = register(hotel, checked_in_at=checked_in_at, name="退房客人", tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    client = logged_in(desk)
    # when the desk selects the guest and picks 办理离店
    confirm = client.post(LIST, {"action": "checkout_action", "_selected_action": [checkin.pk]})
    # then a confirmation page lists the guest, and nothing has changed yet
    assert confirm.status_code == 200
    assert "确认办理离店" in confirm.content.decode() and "退房客人" in confirm.content.decode()
    assert CheckIn.objects.get(pk=checkin.pk).checked_out_at is None
    # when the desk confirms
    done = client.post(LIST, {"action": "checkout_action", "_selected_action": [checkin.pk], "confirm": "yes"}, follow=True)
    # then the guest is checked out and the new status is shown
    assert done.status_code == 200
    stay = CheckIn.objects.get(pk=checkin.pk)
    assert (stay.checked_out_at is not None, stay.checked_out_by) == (True, desk)
    shown = messages_of(done)
    assert shown[0] == "已为 1 位客人办理离店。"
    assert "健康状态：弹窗。离店后行程未核验" in shown[1] and "hotel_checkout" not in shown[1]


def test_another_hotels_desk_is_refused_in_the_admin(other_desk, hotel):
    checkin = register(hotel, checked_in_at=timezone.now() - timedelta(hours=2), name="本店客人")
    client = logged_in(other_desk)
    # not in their list
    assert "本店客人" not in client.get(LIST, {"stay": "all"}).content.decode()
    # the change page of another hotel's stay is "not found" (redirect to the index), nothing shown
    change = client.get(f"{LIST}{checkin.pk}/change/")
    assert change.status_code == 302
    assert "本店客人" not in client.get(f"{LIST}{checkin.pk}/change/", follow=True).content.decode()
    # the checkout action on it does nothing
    client.post(LIST, {"action": "checkout_action", "_selected_action": [checkin.pk], "confirm": "yes"})
    assert CheckIn.objects.get(pk=checkin.pk).checked_out_at is None
    # adding a test through the change page is refused
    data = {"nat_tests-TOTAL_FORMS": "1", "nat_tests-INITIAL_FORMS": "0", "nat_tests-0-result": "positive"}
    client.post(f"{LIST}{checkin.pk}/change/", data)
    assert NucleicAcidTest.objects.count() == 0
    # and their tests list does not show it
    assert "本店客人" not in client.get("/admin/hotels/nucleicacidtest/").content.decode()


def test_community_worker_has_no_hotel_admin(community_worker, hotel):
    client = logged_in(community_worker)
    assert client.get(LIST).status_code == 403
    assert client.get(ADD).status_code == 403


def test_health_staff_read_every_hotels_tests_with_the_positive_filter(health_officer, desk, hotel, other_hotel):
    checked_in_at = timezone.now() - timedelta(hours=2)
    positive = register(hotel, checked_in_at=checked_in_at, name="阳性客人", tests=[(checked_in_at + timedelta(minutes=5), "positive", "hotel")])
    register(other_hotel, checked_in_at=checked_in_at, name="阴性客人", tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    status_of(positive.person_id)
    client = logged_in(health_officer)
    everything = client.get("/admin/hotels/nucleicacidtest/").content.decode()
    assert "阳性客人" in everything and "阴性客人" in everything
    assert "?positive=yes" in everything  # the 阳性 filter is offered
    only_positive = client.get("/admin/hotels/nucleicacidtest/", {"positive": "review"}).content.decode()
    assert "阳性客人" in only_positive and "阴性客人" not in only_positive
    # read-only: no adding, no changing; no access to the hotels' stays
    test = NucleicAcidTest.objects.get(result="positive")
    assert client.get("/admin/hotels/nucleicacidtest/add/").status_code == 403
    assert client.get(f"/admin/hotels/nucleicacidtest/{test.pk}/change/").status_code == 200
    assert client.post(f"/admin/hotels/nucleicacidtest/{test.pk}/change/", {"result": "negative"}).status_code == 403
    assert NucleicAcidTest.objects.get(pk=test.pk).result == "positive"
    assert client.get(LIST).status_code == 403
    # a front desk sees its own tests, without the 阳性 filter
    desk_page = logged_in(desk).get("/admin/hotels/nucleicacidtest/").content.decode()
    assert "阳性客人" in desk_page and "阴性客人" not in desk_page and "?positive=yes" not in desk_page


def test_administrator_creates_a_hotel_in_the_admin(admin_user):
    client = logged_in(admin_user)
    response = client.post("/admin/hotels/hotel/add/", {"code": "h-admin", "name": "管理员新建酒店", "region": "110108", "_save": "保存"})
    assert response.status_code == 302
    from hotels.models import Hotel

    assert Hotel.objects.filter(code="h-admin", region_id="110108").exists()


# Marked explicitly: the fixtures are fetched by name, so pytest-django cannot see that the test
# needs the database and would run it after the transactional tests (which flush the regions).
@pytest.mark.django_db
@pytest.mark.parametrize("user_fixture", ["desk", "health_officer"])
def test_hotels_are_managed_by_administrators_only(request, user_fixture):
    assert logged_in(request.getfixturevalue(user_fixture)).get("/admin/hotels/hotel/").status_code == 403


@pytest.mark.django_db
def test_the_front_desk_finds_a_guest_by_id_number_without_it_in_a_url(desk, hotel):
    number = factories.id_number()
    services.checkin_register(
        actor=desk, hotel=hotel, person_name="查号", id_number=number, checked_in_at=timezone.now() - timedelta(hours=1),
        origin_region_code="130102", health_management_accepted=False, nat_tests=[],
    )
    services.checkin_register(
        actor=desk, hotel=hotel, person_name="别人", id_number=factories.id_number(),
        checked_in_at=timezone.now() - timedelta(hours=1), origin_region_code="130102",
        health_management_accepted=False, nat_tests=[],
    )
    client = logged_in(desk)
    posted = client.post("/admin/hotels/checkin/", {"q": number, "_hashed_search": "1"})
    assert posted.status_code == 302 and number not in posted["Location"]
    page = client.get(posted["Location"]).content.decode()
    assert "查号" in page and "别人" not in page and number not in page
