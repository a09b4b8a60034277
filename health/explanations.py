"""A person's status in plain words for staff: the rule that decided it, the records it came from, when it may change.

Reads only. Which records a viewer may open is the caller's question (`link_for`), so the same
explanation serves any page that knows its viewer's permissions.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from health.display import beijing_day, beijing_time
from health.models import Designation, HealthStatus, ItineraryDeclaration, ItineraryStay, Person, StatusEvent

# The rule ids of docs/status-rules: what each says, in a sentence a front desk can read out.
RULE_SENTENCES = {
    "R1": _("卫健部门有尚未解除的病例认定，按规定集中观察。"),
    "R2": _("社区登记的隔离尚未解除。"),
    "R3": _("%(window)d天内有核酸检测阳性结果，需联系卫健部门复核。"),
    "R4": _("入境未满%(inbound)d天且尚未解除观察。"),
    "G1": _("隔离或入境观察已解除，解除后的行程符合要求。"),
    "G2": _("在住酒店客人，来源地和酒店所在地均非中高风险地区，且有符合要求的核酸阴性结果。"),
    "G3": _("已申报行程，与国家政务服务平台的行程一致，且%(window)d天内均在京津冀低风险地区。"),
    "P": _("以上规则都不适用：需申报行程，或联系社区、卫健部门。"),
}

REASON_SENTENCES = {
    "designation_confirmed": _("卫健部门认定为确诊病例，尚未解除"),
    "designation_suspected": _("卫健部门认定为疑似病例，尚未解除"),
    "designation_asymptomatic": _("卫健部门认定为无症状感染者，尚未解除"),
    "designation_close_contact": _("卫健部门认定为密切接触者，尚未解除"),
    "quarantine_centralized": _("社区登记了集中隔离，尚未解除"),
    "quarantine_home": _("社区登记了居家隔离，尚未解除"),
    "nat_positive": _("核酸检测阳性，已提交卫健部门复核"),
    "inbound_unreleased": _("入境人员尚未解除观察"),
    "inbound_late_arrival": _("解除集中隔离后未按时进京（超过宽限天数），需联系社区"),
    "released_quarantine": _("社区已解除隔离"),
    "released_inbound": _("入境人员已解除观察"),
    "hotel_stay": _("在住酒店，入住核验通过"),
    "itinerary_verified": _("行程已核验"),
    "hotel_requirements_unmet": _("在住酒店，但不满足入住条件（来源地风险、核酸结果或健康管理）"),
    "hotel_checkout_requirements_unmet": _("离店后不满足行程条件"),
    "itinerary_risky_area": _("近期到过中高风险地区"),
    "itinerary_outside_jjj": _("近期到过京津冀以外地区"),
    "itinerary_mismatch": _("申报的行程与平台行程不一致（核验失败）"),
    "itinerary_unverifiable": _("没有国家政务服务平台的行程数据，无法核验"),
    "itinerary_not_declared": _("尚未申报行程"),
}

# Which kinds of records each rule reads: their sections are marked as the ones that decided.
RULE_SECTIONS = {
    "R1": {"designations"},
    "R2": {"quarantines"},
    "R3": {"checkins"},
    "R4": {"inbound"},
    "G1": {"quarantines", "inbound", "stays"},
    "G2": {"checkins"},
    "G3": {"stays", "declarations"},
    "P": {"checkins", "stays", "declarations"},
}

STAYS_SHOWN = 20
DECLARATIONS_SHOWN = 5


def reason_sentence(code: str) -> str:
    sentence = REASON_SENTENCES.get(code)
    if sentence is not None:
        return str(sentence)
    if code.startswith("designation_"):
        # The engine names a kind it does not know rather than drop it; say so plainly.
        return str(_("卫健部门的认定（%(kind)s），尚未解除")) % {"kind": code.removeprefix("designation_")}
    return code


def rule_sentence(rule: str, *, window_days: int = 14, inbound_days: int = 28) -> str:
    sentence = RULE_SENTENCES.get(rule)
    if sentence is None:
        return ""
    return str(sentence) % {"window": window_days, "inbound": inbound_days}


def reasons_sentence(reasons) -> str:
    """The reason codes after the rule id, in words, joined by "；"."""
    codes = [code for code in reasons if code not in RULE_SENTENCES]
    return "；".join(reason_sentence(code) for code in codes)


@dataclass
class RecordRow:
    text: str
    url: str | None = None
    current: bool = False  # still in force (an open stay, an unlifted quarantine…)


@dataclass
class RecordSection:
    key: str
    title: str
    rows: list[RecordRow] = field(default_factory=list)
    hidden: int = 0  # records of this kind the viewer may not open: counted, never described
    decided: bool = False


@dataclass
class Explanation:
    status: str
    status_label: str
    rule: str
    rule_text: str
    reasons: list[tuple[str, str]]
    valid_until: str
    valid_until_note: str
    computed_at: str
    policy_version: int | None
    needs_review: bool
    sections: list[RecordSection]
    history: list[dict]


LinkFor = Callable[[object], "str | None | bool"]


def _section(key: str, title, objects, describe, link_for: LinkFor) -> RecordSection:
    section = RecordSection(key=key, title=str(title))
    for obj in objects:
        url = link_for(obj)
        if url is False:
            section.hidden += 1
            continue
        text, current = describe(obj)
        section.rows.append(RecordRow(text=text, url=url or None, current=current))
    return section


def _quarantines(person: Person, link_for: LinkFor) -> RecordSection:
    from communities.models import QuarantineRecord

    def describe(record):
        end = (
            gettext("已于 %(at)s 解除") % {"at": beijing_time(record.lifted_at)}
            if record.lifted_at
            else gettext("尚未解除（计划 %(at)s）") % {"at": beijing_time(record.planned_end_at)}
        )
        started = gettext("开始于 %(at)s") % {"at": beijing_time(record.started_at)}
        text = " · ".join([str(record.get_kind_display()), record.community.name, started, end])
        return text, record.lifted_at is None

    records = QuarantineRecord.objects.filter(person=person).select_related("community").order_by("-started_at", "-pk")
    return _section("quarantines", _("社区隔离记录"), records, describe, link_for)


def _designations(person: Person, link_for: LinkFor) -> RecordSection:
    def describe(designation):
        end = (
            gettext("已于 %(at)s 解除") % {"at": beijing_time(designation.cleared_at)}
            if designation.cleared_at
            else gettext("尚未解除")
        )
        designated = gettext("认定于 %(at)s") % {"at": beijing_time(designation.designated_at)}
        text = " · ".join([str(designation.get_kind_display()), designated, end])
        return text, designation.cleared_at is None or designation.cleared_at > timezone.now()

    designations = Designation.objects.filter(person=person).order_by("-designated_at", "-pk")
    return _section("designations", _("卫健部门病例认定"), designations, describe, link_for)


def _checkins(person: Person, link_for: LinkFor) -> RecordSection:
    from hotels.models import CheckIn

    def describe(checkin):
        stay = (
            gettext("已于 %(at)s 离店") % {"at": beijing_time(checkin.checked_out_at)}
            if checkin.checked_out_at
            else gettext("在住")
        )
        tests = "、".join(
            gettext("%(result)s（%(source)s，采样于 %(at)s）")
            % {"result": test.get_result_display(), "source": test.get_source_display(), "at": beijing_time(test.sampled_at)}
            for test in checkin.nat_tests.all()
        ) or gettext("无")
        text = " · ".join(
            [
                checkin.hotel.name,
                gettext("入住于 %(at)s") % {"at": beijing_time(checkin.checked_in_at)},
                stay,
                gettext("来源地：%(region)s") % {"region": checkin.origin_region.name},
                gettext("核酸：%(tests)s") % {"tests": tests},
            ]
        )
        return text, checkin.checked_out_at is None

    checkins = (
        CheckIn.objects.filter(person=person)
        .select_related("hotel", "origin_region")
        .prefetch_related("nat_tests")
        .order_by("-checked_in_at", "-pk")
    )
    return _section("checkins", _("酒店入住登记及核酸检测"), checkins, describe, link_for)


def _inbound(person: Person, link_for: LinkFor) -> RecordSection:
    from entrants.models import InboundCase

    def describe(case):
        released = (
            gettext("已于 %(at)s 解除观察") % {"at": beijing_time(case.released_at)}
            if case.released_at
            else gettext("社区尚未解除观察")
        )
        community = case.managing_community.name if case.managing_community else gettext("无管理社区")
        parts = [gettext("入境于 %(day)s") % {"day": beijing_day(case.entered_country_on)}, case.port_of_entry]
        if case.entered_city_on:
            parts.append(gettext("进京于 %(day)s") % {"day": beijing_day(case.entered_city_on)})
        text = " · ".join([*parts, community, released])
        return text, case.released_at is None

    cases = InboundCase.objects.filter(person=person).select_related("managing_community").order_by(
        "-entered_country_on", "-pk"
    )
    return _section("inbound", _("入境人员登记"), cases, describe, link_for)


def _stays(person: Person, link_for: LinkFor) -> RecordSection:
    def describe(stay):
        left = beijing_time(stay.left_at) if stay.left_at else gettext("仍在当地")
        arrived = gettext("到达于 %(at)s") % {"at": beijing_time(stay.arrived_at)}
        return " · ".join([str(stay.region), arrived, gettext("离开：%(at)s") % {"at": left}]), stay.left_at is None

    stays = ItineraryStay.objects.filter(person=person).select_related("region").order_by("-arrived_at", "-pk")
    return _section("stays", _("国家政务服务平台行程"), stays[:STAYS_SHOWN], describe, link_for)


def _declarations(person: Person, link_for: LinkFor) -> RecordSection:
    def describe(declaration):
        declared = gettext("申报于 %(at)s") % {"at": beijing_time(declaration.declared_at)}
        return " · ".join([declared, "、".join(declaration.region_codes)]), False

    declarations = ItineraryDeclaration.objects.filter(person=person).order_by("-declared_at", "-pk")
    return _section("declarations", _("本人行程申报"), declarations[:DECLARATIONS_SHOWN], describe, link_for)


def _history(person: Person) -> list[dict]:
    labels = dict(HealthStatus.Code.choices)
    events = StatusEvent.objects.filter(person=person).order_by("-computed_at", "-pk")[:50]
    return [
        {
            "at": beijing_time(event.computed_at, seconds=True),
            "old": str(labels.get(event.old_status, "—")),
            "new": str(labels.get(event.new_status, event.new_status)),
            "rule": event.new_reasons[0] if event.new_reasons else "",
            "reasons": reasons_sentence(event.new_reasons),
            "cause": event.cause,
        }
        for event in events
    ]


def person_explanation(
    person: Person, status: HealthStatus, *, link_for: LinkFor, window_days: int = 14, inbound_days: int = 28
) -> Explanation:
    """Everything the person page shows about the status.

    `link_for(record)` answers, for each record, its admin URL (the viewer may open it), None
    (may know of it, no page to open) or False (may not know of it: only counted).
    """
    reasons = list(status.reasons or [])
    rule = reasons[0] if reasons and reasons[0] in RULE_SENTENCES else ""
    sections = [
        _designations(person, link_for),
        _quarantines(person, link_for),
        _inbound(person, link_for),
        _checkins(person, link_for),
        _stays(person, link_for),
        _declarations(person, link_for),
    ]
    for section in sections:
        section.decided = section.key in RULE_SECTIONS.get(rule, set()) and bool(section.rows or section.hidden)
    computed = status.computed_at is not None
    return Explanation(
        status=status.status,
        status_label=str(HealthStatus.Code(status.status).label) if computed else gettext("待计算"),
        rule=rule,
        rule_text=rule_sentence(rule, window_days=window_days, inbound_days=inbound_days),
        reasons=[(code, reason_sentence(code)) for code in reasons if code not in RULE_SENTENCES],
        valid_until=beijing_time(status.valid_until),
        valid_until_note=(
            gettext("到这个时间会自动重新判定；有新记录时也会立即重新判定。")
            if status.valid_until
            else gettext("没有已知的到期时间：只有新的记录（如解除隔离、离店、申报行程）会改变状态。")
        ),
        computed_at=beijing_time(status.computed_at, seconds=True),
        policy_version=status.policy_version,
        needs_review=status.needs_review,
        sections=sections,
        history=_history(person),
    )
