"""One wording: every reason code and cause has a label, policy values come from the policy, staff read which fact decided."""
import ast
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from health import explanations
from health.display import beijing_day, beijing_time
from health.engine import Policy
from health.engine import rules as engine_rules
from health.models import ItineraryDeclaration, ItineraryStay, Region
from health.services.risk_areas import risk_area_create
from health.services.statuses import persons_mark_dirty
from hotels.services import checkin_register, hotel_create
from tests import factories
from tests.staff.helpers import fresh, logged_in

ROOT = Path(settings.BASE_DIR)
PRODUCT = ("health", "communities", "hotels", "entrants", "config")
SNAKE = re.compile(r"^[a-z]+(_[a-z]+)+$")


def python_files():
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def test_every_reason_code_the_engine_can_give_has_a_label_and_an_explanation():
    # the codes the engine declares, and every snake_case word written in the rules module
    declared = set(engine_rules.REASON_CODES)
    written = {
        node.value
        for node in ast.walk(ast.parse(Path(engine_rules.__file__).read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SNAKE.match(node.value)
    }
    designation_kinds = set(engine_rules.DESIGNATION_ORDER)
    unlabelled = [
        word
        for word in sorted(declared | written)
        if word not in explanations.REASONS
        and word not in explanations.TEST_REFUSALS
        and word not in designation_kinds
        and f"designation_{word}" not in explanations.REASONS
        and not hasattr(engine_rules, word)  # a name the module exports, not a code
    ]
    assert unlabelled == []
    assert declared <= set(explanations.REASONS)
    assert set(engine_rules.RULE_IDS) == set(explanations.RULE_SENTENCES)
    for code in declared:
        assert explanations.reason_label(code) and explanations.reason_explanation(code, Policy())
        assert code not in explanations.reason_label(code) + explanations.reason_explanation(code, Policy())


def causes_written() -> set[str]:
    """Every cause the code can record: `cause=` / `dirty_cause=` arguments, `cause` defaults, `…, cause = …, "x"`."""
    found = set()

    def strings(node):
        return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}

    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg in ("cause", "dirty_cause"):
                found |= strings(node.value)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                arguments = node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults
                defaults += node.args.kw_defaults
                for argument, default in zip(arguments, defaults, strict=True):
                    if argument.arg == "cause" and default is not None:
                        found |= strings(default)
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple) and isinstance(node.value, ast.Tuple):
                for target, value in zip(node.targets[0].elts, node.value.elts, strict=False):
                    if isinstance(target, ast.Name) and target.id == "cause":
                        found |= strings(value)
    return found


def test_every_cause_the_services_can_record_has_a_label():
    causes = causes_written()
    assert {"quarantine_registered", "hotel_checkout", "valid_until", "recompute_all", "risk_area"} <= causes
    assert sorted(cause for cause in causes if cause not in explanations.CAUSES) == []
    assert all(explanations.cause_label(cause) != cause for cause in causes if cause)


def test_explanations_take_their_numbers_from_the_policy_in_force():
    policy = Policy(window_days=10, nat_valid_days=3, inbound_observation_days=21, inbound_arrival_grace_days=2, min_stay_hours=6)
    texts = [explanations.reason_explanation(code, policy) for code in explanations.REASONS]
    texts += [explanations.rule_sentence(rule, policy) for rule in explanations.RULE_SENTENCES]
    joined = "".join(texts)
    for default in ("14天", "14 天", "7天", "7日", "28天", "4小时"):
        assert default not in joined
    assert "10天内核酸检测阳性" in explanations.reason_explanation("nat_positive", policy)
    assert "入住前3天内" in explanations.reason_explanation("hotel_requirements_unmet", policy)
    assert "入境未满21天" in explanations.reason_explanation("inbound_unreleased", policy)
    assert "超过2天" in explanations.reason_explanation("inbound_late_arrival", policy)
    assert "停留满6小时" in explanations.reason_explanation("itinerary_unverifiable", policy)
    # and nowhere in the wording tables is a default written out
    source = Path(explanations.__file__).read_text(encoding="utf-8")
    assert not re.search(r"(14|28)\s*天|7\s*日|7天内", source)


def test_the_front_desk_has_no_wording_table_of_its_own():
    import hotels.admin

    assert not hasattr(hotels.admin, "REASON_LABELS")
    assert "14天" not in Path(hotels.admin.__file__).read_text(encoding="utf-8")


# --- which fact decided, through the pages staff read -------------------------------------------
@pytest.mark.django_db
def test_the_desk_reads_which_origin_and_since_when_and_the_administrator_the_rule_id():
    # given Pudong designated medium risk and a guest from Pudong with a valid certificate
    since = timezone.now() - timedelta(days=5)
    risk_area_create(actor=None, region=Region.objects.get(code="310115"), level="medium", effective_from=since)
    hotel = hotel_create(code="h1", name="前门饭店", region_code="110101")
    checkin = checkin_register(
        actor=None,
        hotel=hotel,
        person_name="张三",
        id_number=factories.id_number(serial=911),
        checked_in_at=timezone.now() - timedelta(hours=2),
        origin_region_code="310115",
        health_management_accepted=False,
        nat_tests=[{"sampled_at": timezone.now() - timedelta(days=1), "result": "negative", "source": "certificate"}],
    )
    fresh(checkin.person_id)
    page = f"/admin/health/person/{checkin.person_id}/change/"
    # when the desk opens the person
    html = logged_in(factories.staff(organisation=hotel)).get(page).content.decode()
    # then the reason names the origin, its level and since when; no rule id, no code
    assert "<strong>不满足入住条件</strong>" in html
    assert f"<li>来源地上海市浦东新区为中风险地区（{beijing_day(since)} 起）</li>" in html
    assert "规则编号" not in html and "hotel_requirements_unmet" not in html
    # and an administrator reads the same, with the rule id on its detail line
    html = logged_in(factories.staff(admin=True)).get(page).content.decode()
    assert f"<li>来源地上海市浦东新区为中风险地区（{beijing_day(since)} 起）</li>" in html
    assert "规则编号 P" in html


@pytest.mark.django_db
def test_the_desk_reads_that_the_certificate_is_too_old_by_the_policy_s_days():
    hotel = hotel_create(code="h1", name="前门饭店", region_code="110101")
    desk = factories.staff(organisation=hotel)
    checked_in = (timezone.now() - timedelta(hours=1)).replace(second=0, microsecond=0)
    local_in, local_sampled = timezone.localtime(checked_in), timezone.localtime(checked_in - timedelta(days=9))
    response = logged_in(desk).post(
        "/admin/hotels/checkin/add/",
        {
            "person_name": "李四",
            "id_number": factories.id_number(serial=912),
            "checked_in_at_0": f"{local_in:%Y-%m-%d}",
            "checked_in_at_1": f"{local_in:%H:%M:%S}",
            "origin_region": "110105",
            "nat_tests-TOTAL_FORMS": "1",
            "nat_tests-INITIAL_FORMS": "0",
            "nat_tests-MIN_NUM_FORMS": "0",
            "nat_tests-MAX_NUM_FORMS": "1000",
            "nat_tests-0-sampled_at_0": f"{local_sampled:%Y-%m-%d}",
            "nat_tests-0-sampled_at_1": f"{local_sampled:%H:%M:%S}",
            "nat_tests-0-result": "negative",
            "nat_tests-0-source": "certificate",
        },
        follow=True,
    )
    shown = [str(message) for message in response.context["messages"]]
    assert any("健康状态：弹窗。不满足入住条件：核酸证明采样于入住前 9 天，超过 7 天" in message for message in shown), shown


@pytest.mark.django_db
def test_an_undeclared_city_is_named_on_the_person_page():
    checkin = checkin_register(
        actor=None,
        hotel=hotel_create(code="h1", name="前门饭店", region_code="110101"),
        person_name="王五",
        id_number=factories.id_number(serial=913),
        checked_in_at=timezone.now() - timedelta(days=10),
        origin_region_code="110105",
        health_management_accepted=False,
    )
    person = checkin.person
    arrived = timezone.now() - timedelta(days=4)
    ItineraryStay.objects.create(person=person, region=Region.objects.get(code="120000"), arrived_at=arrived,
                                 left_at=arrived + timedelta(days=1))
    ItineraryDeclaration.objects.create(person=person, declared_at=timezone.now() - timedelta(days=1), region_codes=["110000"])
    persons_mark_dirty([person.pk], cause="declaration")
    fresh(person.pk)
    html = logged_in(factories.staff(admin=True)).get(f"/admin/health/person/{person.pk}/change/").content.decode()
    assert "<strong>行程核验失败</strong>" in html
    assert f"<li>行程中天津市（{beijing_time(arrived)} 到达）未申报</li>" in html
