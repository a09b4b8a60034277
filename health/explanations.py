"""The one wording table: every rule, reason code, cause and piece of evidence in words for staff.

A person's status in plain words: the rule that decided it, which facts made each reason true
(`health.engine.explain`, the same evaluation as the stored decision), when it may change. Policy
values (the window, a certificate's validity…) are read from the policy in force, never written
here. Reads only, and only the core's own records: the person page's explanation, which also lists
the records of the community, hotel and border apps, is composed above them (staff/explanations.py).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from health import registry
from health.display import beijing_day, beijing_time
from health.engine import Evidence, Policy
from health.engine.rules import explain
from health.models import (
    Designation,
    HealthStatus,
    Region,
    RiskArea,
)

# The rule ids of status-rules.md, each in a sentence a front desk can read out. The ids themselves
# are for the health department's detail line only.
RULE_SENTENCES = {
    "R1": _("卫健部门有尚未解除的病例认定，按规定集中观察。"),
    "R2": _("社区登记的隔离尚未解除。"),
    "R3": _("%(window_days)d天内有核酸检测阳性结果，需联系卫健部门复核。"),
    "R4": _("入境未满%(inbound_observation_days)d天且尚未解除观察。"),
    "G1": _("隔离或入境观察已解除，解除后的行程符合要求。"),
    "G2": _("在住酒店客人，来源地和酒店所在地均非中高风险地区，且有符合要求的核酸阴性结果。"),
    "G3": _("已申报行程，与国家政务服务平台的行程一致，且%(window_days)d天内均在京津冀低风险地区。"),
    "P": _("以上规则都不适用：需申报行程，或联系社区、卫健部门。"),
}

# Every reason code (health.engine.rules.REASON_CODES): a short label for lists and messages, and
# a plain explanation with the policy's values.
REASONS = {
    "designation_confirmed": (_("确诊病例"), _("卫健部门认定为确诊病例，尚未解除。")),
    "designation_suspected": (_("疑似病例"), _("卫健部门认定为疑似病例，尚未解除。")),
    "designation_asymptomatic": (_("无症状感染者"), _("卫健部门认定为无症状感染者，尚未解除。")),
    "designation_close_contact": (_("密切接触者"), _("卫健部门认定为密切接触者，尚未解除。")),
    "quarantine_centralized": (_("集中隔离中"), _("社区登记了集中隔离，尚未解除。")),
    "quarantine_home": (_("居家隔离中"), _("社区登记了居家隔离，尚未解除。")),
    "nat_positive": (_("核酸检测阳性"), _("%(window_days)d天内核酸检测阳性，已提交卫健部门复核。")),
    "inbound_late_arrival": (
        _("入境后未按时进京"),
        _("解除集中隔离后超过%(inbound_arrival_grace_days)d天才进京，需联系社区。"),
    ),
    "inbound_unreleased": (_("入境观察未解除"), _("入境未满%(inbound_observation_days)d天，尚未解除观察。")),
    "released_quarantine": (_("已解除隔离"), _("社区已解除隔离，解除后的行程符合要求。")),
    "released_inbound": (_("已解除入境观察"), _("入境观察已解除，解除后的行程符合要求。")),
    "hotel_stay": (
        _("在住酒店核验通过"),
        _(
            "在住酒店：来源地和酒店所在地均非中高风险地区，持入住前%(nat_valid_days)d天内的核酸阴性证明，"
            "或在酒店检测阴性并接受健康管理。"
        ),
    ),
    "itinerary_verified": (
        _("行程已核验"),
        _("已申报行程，与国家政务服务平台的行程一致，且%(window_days)d天内均在京津冀低风险地区。"),
    ),
    "hotel_requirements_unmet": (
        _("不满足入住条件"),
        _(
            "在住酒店，但来源地或酒店所在地为中高风险地区，或没有入住前%(nat_valid_days)d天内的核酸阴性证明"
            "（也没有在酒店检测阴性并接受健康管理）。"
        ),
    ),
    "hotel_checkout_requirements_unmet": (
        _("离店后行程未核验"),
        _("%(window_days)d天内从酒店离店，离店后需申报行程并通过核验。"),
    ),
    "itinerary_risky_area": (_("到过中高风险地区"), _("%(window_days)d天内到过中高风险地区。")),
    "itinerary_outside_jjj": (_("到过京津冀以外地区"), _("%(window_days)d天内到过京津冀以外地区。")),
    "itinerary_mismatch": (_("行程核验失败"), _("申报的行程与国家政务服务平台的行程不一致，有停留地未申报。")),
    "itinerary_unverifiable": (
        _("无平台行程数据"),
        _("%(window_days)d天内没有国家政务服务平台的行程数据（停留满%(min_stay_hours)d小时），无法核验。"),
    ),
    "itinerary_not_declared": (_("未申报行程"), _("尚未申报行程。")),
}

# Why a test does not count for G2 (the engine's `test_refusal`), and a check-in with no test.
TEST_REFUSALS = {
    "certificate_too_old": _("核酸证明采样于入住前 %(days)s，超过 %(nat_valid_days)d 天"),
    "certificate_after_checkin": _("核酸证明采样于 %(at)s，晚于入住时间，不能作为入住前证明"),
    "hotel_test_before_checkin": _("酒店检测采样于 %(at)s，早于入住时间"),
    "hotel_test_without_management": _("酒店检测采样于 %(at)s，但客人未接受健康管理，不能作为依据"),
    "test_not_negative": _("采样于 %(at)s 的核酸检测不是阴性结果"),
    "test_ahead": _("核酸检测采样时间 %(at)s 晚于判定时间"),
    "test_unknown_source": _("采样于 %(at)s 的核酸检测来源不明，不能作为依据"),
    "no_test": _("入住时（%(at)s）没有登记核酸检测结果"),
}

# What recomputed a status (StatusEvent.cause, HealthStatus.dirty_cause), as staff read the history.
CAUSES = {
    "": _("重新判定"),
    "person_created": _("新登记人员"),
    "persons_merged": _("合并重复登记的人员"),
    "declaration": _("本人申报行程"),
    "itinerary_stays": _("平台行程数据更新"),
    "itinerary_feed": _("平台行程数据导入"),
    "designation": _("病例认定登记或更正"),
    "designation_cleared": _("病例认定解除"),
    "designation_withdrawn": _("病例认定撤销"),
    "risk_area": _("中高风险地区调整"),
    "risk_area_withdrawn": _("中高风险地区撤销"),
    "policy_change": _("判定规则参数调整"),
    "recompute_all": _("全部人员重新判定"),
    "valid_until": _("到期自动重新判定"),
    "correction_resolved": _("状态更正申请已处理"),
    "name_corrected": _("更正姓名"),
    "quarantine_registered": _("社区登记隔离"),
    "quarantine_planned_end_changed": _("修改隔离计划解除时间"),
    "quarantine_lifted": _("社区解除隔离"),
    "quarantine_deleted": _("删除隔离记录"),
    "hotel_checkin": _("酒店入住登记"),
    "hotel_nat_test": _("酒店登记核酸检测"),
    "hotel_checkout": _("酒店办理离店"),
    "hotel_moved": _("酒店所在地变更"),
    "inbound_registered": _("入境人员登记"),
    "inbound_updated": _("入境人员信息更新"),
    "inbound_released": _("社区解除入境观察"),
    "inbound_feed": _("入境人员数据导入"),
    "inbound_deleted": _("删除入境人员记录"),
    "generated": _("演示数据生成"),
}

RISK_LEVELS = dict(RiskArea.Level.choices)
DESIGNATION_KINDS = dict(Designation.Kind.choices)
EVIDENCE_SHOWN = 5  # per reason: a person with forty risky stays is told of the first five, and how many more


def _policy_values(policy: Policy | None) -> dict:
    return asdict(policy or Policy())


def reason_label(code: str) -> str:
    """The short label of a reason code; never the code itself."""
    if code in REASONS:
        return str(REASONS[code][0])
    if code.startswith("designation_"):
        # The engine names a kind it does not know rather than drop it; say so plainly.
        return gettext("卫健部门的其他认定")
    if code in RULE_SENTENCES:
        return ""
    return gettext("其他原因")


def reason_explanation(code: str, policy: Policy | None = None) -> str:
    if code in REASONS:
        return str(REASONS[code][1]) % _policy_values(policy)
    if code.startswith("designation_"):
        return gettext("卫健部门的其他认定，尚未解除。")
    return gettext("其他原因，请联系卫健部门。")


def reason_sentence(code: str, policy: Policy | None = None) -> str:
    """The explanation without its full stop, for lists joined by "；"."""
    return reason_explanation(code, policy).rstrip("。")


def rule_sentence(rule: str, policy: Policy | None = None) -> str:
    sentence = RULE_SENTENCES.get(rule)
    return "" if sentence is None else str(sentence) % _policy_values(policy)


def reasons_labels(reasons: Iterable[str]) -> str:
    """The reason codes after the rule id as short labels, joined by "、" (for lists and titles)."""
    return "、".join(reason_label(code) for code in reasons if code not in RULE_SENTENCES)


def reasons_sentence(reasons: Iterable[str], policy: Policy | None = None) -> str:
    """The reason codes after the rule id, explained, joined by "；"."""
    return "；".join(reason_sentence(code, policy) for code in reasons if code not in RULE_SENTENCES)


def cause_label(cause: str) -> str:
    label = CAUSES.get(cause or "")
    return str(label) if label is not None else gettext("其他原因")


def status_label(status: HealthStatus | None) -> str:
    if status is None or status.computed_at is None:
        return gettext("待计算")
    return str(HealthStatus.Code(status.status).label)


def status_cell(status: HealthStatus | None) -> str:
    """A list cell: the label, with "（更新中）" while a recomputation of the shown decision is pending."""
    label = status_label(status)
    if status is not None and status.computed_at is not None and status.dirty:
        return f"{label}（{gettext('更新中')}）"
    return label


def status_cell_html(status: HealthStatus | None) -> str:
    """The list cell of every list with a status column: status_cell's words in the status's colour (the
    admin's .hk-status-* classes), the reasons as its tooltip; the same words, plain, when not computed yet."""
    if status is None or status.computed_at is None:
        return status_cell(status)
    return format_html(
        '<span class="hk-status hk-status-{}" title="{}">{}</span>',
        status.status,
        reasons_labels(status.reasons),
        status_cell(status),
    )


# --- evidence: which fact decided -------------------------------------------------------------
def status_evidence(person_id: int, status: HealthStatus, *, policy: Policy | None = None) -> list[Evidence]:
    """The facts behind each reason of a stored decision, from the engine's own evaluation.

    The person's facts are evaluated again at the decision's `computed_at` with the policy and
    risk areas; only when that gives the stored reasons (nothing has changed since) is the
    evidence theirs. Otherwise none: the labels alone are shown, never evidence of another decision.
    """
    from health.services.statuses import policy_current, risk_areas_current

    if status.computed_at is None:
        return []
    policy = policy or policy_current()
    if status.policy_version is not None and policy.version != status.policy_version:
        return []
    now = status.computed_at
    facts = registry.facts_for([person_id])[person_id]
    decision, evidence = explain(facts, now=now, policy=policy, risk_areas=risk_areas_current(now=now, policy=policy))
    if list(decision.reasons) != list(status.reasons or []):
        return []
    return list(evidence)


def region_names(codes: Iterable[str]) -> dict[str, str]:
    codes = {code for code in codes if code}
    rows = Region.objects.filter(code__in=codes).values_list("code", "name", "full_name")
    return {code: full_name or name for code, name, full_name in rows}


def _risk_words(risk, names: dict[str, str]) -> str:
    return gettext("%(region)s为%(level)s地区（%(since)s 起）") % {
        "region": names.get(risk.region, risk.region),
        "level": RISK_LEVELS.get(risk.level, gettext("中高风险")),
        "since": beijing_day(risk.effective_from),
    }


def _whole_days(interval) -> str:
    """"9 天" for nine days exactly, "7 天多" for seven days and a second: never rounded silently."""
    days = interval.days if interval is not None else 0
    if interval is None or interval == timedelta(days=days):
        return gettext("%(days)d 天") % {"days": days}
    return gettext("%(days)d 天多") % {"days": days}


def evidence_sentence(evidence: Evidence, names: dict[str, str], policy: Policy | None = None) -> str:
    """One fact behind a reason, in words: "来源地上海市浦东新区为中风险地区（2026-11-28 起）"."""
    values = _policy_values(policy)
    region = names.get(evidence.region or "", evidence.region or "")
    at = beijing_time(evidence.at)
    if evidence.fact == "origin":
        return gettext("来源地%(risk)s") % {"risk": _risk_words(evidence.risk, names)}
    if evidence.fact == "hotel":
        return gettext("酒店所在地%(risk)s") % {"risk": _risk_words(evidence.risk, names)}
    if evidence.fact in ("test", "checkin") and evidence.detail in TEST_REFUSALS:
        return str(TEST_REFUSALS[evidence.detail]) % {**values, "days": _whole_days(evidence.interval), "at": at}
    if evidence.fact == "stay":
        if evidence.reason == "itinerary_risky_area":
            return gettext("行程中（%(at)s 到达）%(risk)s") % {"at": at, "risk": _risk_words(evidence.risk, names)}
        if evidence.reason == "itinerary_outside_jjj":
            return gettext("行程中%(region)s（%(at)s 到达）不在京津冀") % {"region": region, "at": at}
        return gettext("行程中%(region)s（%(at)s 到达）未申报") % {"region": region, "at": at}
    if evidence.fact == "designation":
        kind = DESIGNATION_KINDS.get(evidence.kind, gettext("病例"))
        return gettext("%(at)s 认定为%(kind)s") % {"at": at, "kind": kind}
    if evidence.fact == "quarantine":
        return gettext("隔离开始于 %(at)s") % {"at": at}
    if evidence.fact == "test":
        return gettext("%(region)s的酒店核酸检测阳性，采样于 %(at)s") % {"region": region, "at": at}
    if evidence.fact == "inbound":
        if evidence.reason == "inbound_late_arrival":
            return gettext("解除集中隔离后第 %(days)d 天（%(day)s）进京，宽限 %(grace)d 天") % {
                "days": evidence.days or 0,
                "day": beijing_day(evidence.day),
                "grace": values["inbound_arrival_grace_days"],
            }
        return gettext("入境于 %(day)s") % {"day": beijing_day(evidence.day)}
    if evidence.fact == "release":
        return gettext("解除于 %(at)s") % {"at": at}
    if evidence.fact == "checkin":
        return gettext("入住%(region)s的酒店于 %(at)s") % {"region": region, "at": at}
    if evidence.fact == "checkout":
        return gettext("%(at)s 从%(region)s的酒店离店") % {"at": at, "region": region}
    if evidence.fact == "declaration":
        return gettext("行程申报于 %(at)s") % {"at": at}
    return ""


@dataclass
class ReasonWords:
    label: str
    explanation: str
    evidence: list[str] = field(default_factory=list)
    more: int = 0  # facts of this reason not listed


def reasons_words(
    reasons: Sequence[str], evidence: Sequence[Evidence] = (), *, policy: Policy | None = None
) -> list[ReasonWords]:
    """Each reason after the rule id: its label, its explanation and the facts that made it true."""
    names = region_names(
        [e.region for e in evidence if e.region] + [e.risk.region for e in evidence if e.risk is not None]
    )
    words = []
    for code in reasons:
        if code in RULE_SENTENCES:
            continue
        sentences = list(dict.fromkeys(evidence_sentence(e, names, policy) for e in evidence if e.reason == code))
        sentences = [sentence for sentence in sentences if sentence]
        words.append(
            ReasonWords(
                label=reason_label(code),
                explanation=reason_explanation(code, policy),
                evidence=sentences[:EVIDENCE_SHOWN],
                more=max(0, len(sentences) - EVIDENCE_SHOWN),
            )
        )
    return words


def status_summary(status: HealthStatus, evidence: Sequence[Evidence] = (), *, policy: Policy | None = None) -> str:
    """The status and why, in one line for a message or a tooltip: "弹窗。不满足入住条件：核酸证明采样于…"."""
    parts = []
    for reason in reasons_words(status.reasons or [], evidence, policy=policy):
        parts.append(f"{reason.label}：{'；'.join(reason.evidence)}" if reason.evidence else reason.label)
    label = status_label(status)
    return f"{label}。{'；'.join(parts)}" if parts else label
