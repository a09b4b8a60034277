"""The person page's explanation: the status in words (health.explanations) with the records it came from.

This composes what crosses apps: the core's designations, stays and declarations, the community's
quarantines, the hotel's check-ins and the border's inbound cases, so it lives in the staff layer,
above the record apps. Which records a viewer may open is the caller's question (`link_for`), so the
same explanation serves any page that knows its viewer's permissions.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from communities.models import QuarantineRecord
from entrants.models import InboundCase
from health.display import beijing_day, beijing_time
from health.engine import Policy
from health.explanations import (
    RULE_SENTENCES,
    ReasonWords,
    cause_label,
    reasons_labels,
    reasons_words,
    rule_sentence,
    status_evidence,
    status_label,
)
from health.models import Designation, HealthStatus, ItineraryDeclaration, ItineraryStay, Person, StatusEvent
from health.selectors import client_marker
from health.services.statuses import policy_current
from hotels.models import CheckIn

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
# The section of the person page each kind of evidence comes from: a viewer who may not see every
# record of a section is not told its facts either.
EVIDENCE_SECTIONS = {
    "designation": "designations",
    "quarantine": "quarantines",
    "test": "checkins",
    "checkin": "checkins",
    "checkout": "checkins",
    "origin": "checkins",
    "hotel": "checkins",
    "inbound": "inbound",
    "release": "quarantines",
    "stay": "stays",
    "declaration": "declarations",
}

STAYS_SHOWN = 20
DECLARATIONS_SHOWN = 5


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
    rule: str  # the rule id, for the health department's detail line only ("" for others)
    rule_text: str
    reasons: list[ReasonWords]
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
        designated = gettext("认定于 %(at)s") % {"at": beijing_time(designation.designated_at)}
        if designation.withdrawn_at is not None:
            # Withdrawn: never existed for the rules, shown only for the record.
            withdrawn = gettext("已于 %(at)s 撤销（%(reason)s），不计入判定") % {
                "at": beijing_time(designation.withdrawn_at),
                "reason": designation.withdrawal_reason,
            }
            return " · ".join([str(designation.get_kind_display()), designated, withdrawn]), False
        end = (
            gettext("已于 %(at)s 解除") % {"at": beijing_time(designation.cleared_at)}
            if designation.cleared_at
            else gettext("尚未解除")
        )
        text = " · ".join([str(designation.get_kind_display()), designated, end])
        return text, designation.cleared_at is None or designation.cleared_at > timezone.now()

    designations = Designation.objects.filter(person=person).order_by("-designated_at", "-pk")
    return _section("designations", _("卫健部门病例认定"), designations, describe, link_for)


def _checkins(person: Person, link_for: LinkFor) -> RecordSection:

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
        parts = [declared, "、".join(declaration.region_codes)]
        if declaration.client_digest:
            # The same marker for the same client: a stranger's declaration stands out from the resident's.
            parts.append(gettext("终端 %(client)s") % {"client": client_marker(declaration.client_digest)})
        return " · ".join(parts), False

    declarations = ItineraryDeclaration.objects.filter(person=person).order_by("-declared_at", "-pk")
    return _section("declarations", _("本人行程申报"), declarations[:DECLARATIONS_SHOWN], describe, link_for)


def _history(person: Person, *, show_rule_ids: bool, policy: Policy | None) -> list[dict]:
    labels = dict(HealthStatus.Code.choices)
    events = StatusEvent.objects.filter(person=person).order_by("-computed_at", "-pk")[:50]
    return [
        {
            "at": beijing_time(event.computed_at, seconds=True),
            "old": str(labels.get(event.old_status, "—")),
            "new": str(labels.get(event.new_status, "—")),
            "rule": event.new_reasons[0] if show_rule_ids and event.new_reasons else "",
            "reasons": reasons_labels(event.new_reasons),
            "cause": cause_label(event.cause),
        }
        for event in events
    ]


def person_explanation(
    person: Person,
    status: HealthStatus,
    *,
    link_for: LinkFor,
    policy: Policy | None = None,
    show_rule_ids: bool = False,
) -> Explanation:
    """Everything the person page shows about the status.

    `link_for(record)` answers, for each record, its admin URL (the viewer may open it), None
    (may know of it, no page to open) or False (may not know of it: only counted, and its facts
    are not named in the reasons either). Rule ids are for the health department
    (`show_rule_ids`); everyone else reads the rule in words.
    """
    policy = policy or policy_current()
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
    partly_hidden = {section.key for section in sections if section.hidden}
    evidence = [
        item
        for item in status_evidence(person.pk, status, policy=policy)
        if EVIDENCE_SECTIONS.get(item.fact) not in partly_hidden
    ]
    return Explanation(
        status=status.status,
        status_label=status_label(status),
        rule=rule if show_rule_ids else "",
        rule_text=rule_sentence(rule, policy),
        reasons=reasons_words(reasons, evidence, policy=policy),
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
        history=_history(person, show_rule_ids=show_rule_ids, policy=policy),
    )
