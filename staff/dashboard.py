"""The admin home page per role: what a community worker, a front desk and the health authority look at first.

Reads only, each a few aggregate queries; the template tag staff_dashboard renders them.
The 14-day chart is rebuilt from StatusEvent (see `status_counts_by_day`): no snapshot table
and no job to keep it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from health.admin_actions import record_action_button
from health.display import beijing_day, beijing_time
from health.models import (
    Designation,
    HealthStatus,
    ItineraryStay,
    Organisation,
    StatusCorrectionRequest,
    StatusEvent,
)
from health.selectors import persons_visible_to, policy_timeline, stored_reason, user_is_admin, user_organisation
from health.status_reads import Screen, statuses_for_staff

STATUS_ORDER = [code for code, _label in HealthStatus.Code.choices]
STATUS_COLOURS = {
    HealthStatus.Code.NO_ABNORMALITY: "#2e7d32",
    HealthStatus.Code.POPUP: "#f9a825",
    HealthStatus.Code.HOME_OBSERVATION: "#ef6c00",
    HealthStatus.Code.CENTRALIZED_OBSERVATION: "#c62828",
}
LIST_LIMIT = 20
CHART_DAYS = 14
# How far behind a feed may be before the page calls it late: an hour is normal traffic for a
# department's feed; a day without a record from one hotel or community may just be a quiet day.
FRESH_WITHIN = timedelta(hours=1)
LATE_AFTER = timedelta(hours=24)


class Role:
    COMMUNITY = "community"
    HOTEL = "hotel"
    BORDER = "border"
    OVERVIEW = "overview"  # administrators and the health authority


def dashboard_role(user) -> str | None:
    if user_is_admin(user):
        return Role.OVERVIEW
    organisation = user_organisation(user)
    if organisation is None:
        return None
    return {
        Organisation.Kind.COMMUNITY: Role.COMMUNITY,
        Organisation.Kind.HOTEL: Role.HOTEL,
        Organisation.Kind.BORDER: Role.BORDER,
        Organisation.Kind.HEALTH: Role.OVERVIEW,
    }.get(organisation.kind)


def _labelled_counts(counts: dict[str, int], list_url: str | None = None) -> list[dict]:
    """The counts by status; with `list_url`, each links to that list filtered by the status (`status=`)."""
    labels = dict(HealthStatus.Code.choices)
    joiner = "&" if list_url and "?" in list_url else "?"
    return [
        {
            "code": code,
            "label": str(labels[code]),
            "count": counts.get(code, 0),
            "colour": STATUS_COLOURS[code],
            "url": f"{list_url}{joiner}status={code}" if list_url else None,
        }
        for code in STATUS_ORDER
    ]


def _admin_url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


# --- community workers -------------------------------------------------------------------------
def community_due(user, *, today: date | None = None) -> dict:
    """Quarantines of the worker's community due to be lifted today, and overdue ones (Beijing days)."""
    from communities import selectors

    visible = selectors.quarantines_visible_to(user)
    due_today = selectors.quarantines_due_today(visible, today=today).order_by("planned_end_at", "pk")
    overdue = selectors.quarantines_overdue(visible, today=today).order_by("planned_end_at", "pk")

    def rows(queryset):
        return [
            {
                "name": record.person.name,
                "id_masked": record.person.id_masked,
                "kind": record.get_kind_display(),
                "planned_end_at": beijing_time(record.planned_end_at),
                "url": _admin_url("communities_quarantinerecord_change", record.pk),
                # The same action as on the record's page: its confirmation comes next.
                "action": record_action_button(
                    url=_admin_url("communities_quarantinerecord_changelist"),
                    name="lift_selected",
                    label=gettext("解除隔离"),
                    pk=record.pk,
                ),
            }
            for record in queryset.select_related("person")[:LIST_LIMIT]
        ]

    return {
        "due_today_count": due_today.count(),
        "due_today": rows(due_today),
        "overdue_count": overdue.count(),
        "overdue": rows(overdue),
    }


def persons_by_status(user) -> list[dict]:
    """The persons the staff account's organisation holds records of, counted by current status."""
    counts = dict(
        HealthStatus.objects.filter(person__in=persons_visible_to(user), computed_at__isnull=False)
        .values_list("status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return _labelled_counts(counts, _admin_url("health_person_changelist"))


def community_inbound(user) -> dict:
    """Inbound cases the worker's community manages and has not released yet, each with its 解除观察."""
    from entrants.selectors import inbound_cases_awaiting_release, inbound_cases_visible_to

    awaiting = (
        inbound_cases_awaiting_release(inbound_cases_visible_to(user))
        .select_related("person")
        .order_by("entered_country_on", "pk")
    )
    changelist = _admin_url("entrants_inboundcase_changelist")
    return {
        "count": awaiting.count(),
        "rows": [
            {
                "name": case.person.name,
                "id_masked": case.person.id_masked,
                "entered_country_on": beijing_day(case.entered_country_on),
                "url": _admin_url("entrants_inboundcase_change", case.pk),
                "action": record_action_button(url=changelist, name="release_selected", label=gettext("解除观察"), pk=case.pk),
            }
            for case in awaiting[:LIST_LIMIT]
        ],
        "url": changelist + "?awaiting_release=yes",
    }


# --- border control ----------------------------------------------------------------------------
def border_cases(*, today: date) -> dict:
    """Border control's cases: those handed to a community and not yet released, and late arrivals.

    Both are the list filters' selectors (entrants.selectors, the grace days from the policy in
    force): a count here and the list it links to cannot disagree.
    """
    from entrants.models import InboundCase
    from entrants.selectors import inbound_cases_awaiting_release, inbound_cases_late
    from health.services.statuses import policy_current

    changelist = _admin_url("entrants_inboundcase_changelist")
    cases = InboundCase.objects.select_related("person", "managing_community")
    awaiting = inbound_cases_awaiting_release(cases)
    late = inbound_cases_late(cases, grace_days=policy_current().inbound_arrival_grace_days)

    def rows(queryset, extra):
        return [
            {
                "name": case.person.name,
                "id_masked": case.person.id_masked,
                "entered_country_on": beijing_day(case.entered_country_on),
                "extra": extra(case),
                "url": _admin_url("entrants_inboundcase_change", case.pk),
            }
            for case in queryset.order_by("entered_country_on", "pk")[:LIST_LIMIT]
        ]

    return {
        "awaiting_count": awaiting.count(),
        "awaiting": rows(awaiting, lambda case: case.managing_community.name),
        "awaiting_url": changelist + "?awaiting_release=yes",
        "late_count": late.count(),
        "late": rows(late, lambda case: gettext("进京 %(day)s") % {"day": beijing_day(case.entered_city_on)}),
        "late_url": changelist + "?late_arrival=yes",
        "entered_today": InboundCase.objects.filter(entered_country_on=today).count(),
        "add_url": _admin_url("entrants_inboundcase_add"),
        "list_url": changelist,
    }


# --- front desks -------------------------------------------------------------------------------
def hotel_guests(user) -> dict:
    """The desk's current guests by status, and those whose stored decision says the stay fails G2.

    Counted from the stored reasons (`hotel_requirements_unmet`), never from a copy of the rule:
    a guest whose hotel test does not count for want of health management is listed, a guest
    decided by another rule (a quarantine, a positive test) is counted under that status instead.
    """
    from health.explanations import reason_explanation
    from health.services.statuses import policy_current
    from hotels.selectors import checkins_visible_to

    current = checkins_visible_to(user).filter(checked_out_at__isnull=True)
    counts = dict(
        current.filter(person__health_status__computed_at__isnull=False)
        .values_list("person__health_status__status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    unmet = current.filter(stored_reason("person__health_status__reasons", "hotel_requirements_unmet")).order_by(
        "checked_in_at", "pk"
    )
    unmet_rows = list(unmet.select_related("person")[:LIST_LIMIT])
    # Listing a guest here shows their stored reason: a read of their status, on record (one insert).
    statuses_for_staff(
        user=user,
        person_ids=[checkin.person_id for checkin in unmet_rows],
        screen=Screen.admin(_("首页看板：未满足入住要求的客人")),
    )
    changelist = _admin_url("hotels_checkin_changelist")
    return {
        "by_status": _labelled_counts(counts, changelist + "?stay=current"),
        "current_count": current.count(),
        "current_url": changelist + "?stay=current",
        "add_url": _admin_url("hotels_checkin_add"),
        # The latest guests, each with its 办理离店 (the same action as on the check-in page).
        "recent": [
            {
                "name": checkin.person.name,
                "id_masked": checkin.person.id_masked,
                "checked_in_at": beijing_time(checkin.checked_in_at),
                "url": _admin_url("hotels_checkin_change", checkin.pk),
                "action": record_action_button(url=changelist, name="checkout_action", label=gettext("办理离店"), pk=checkin.pk),
            }
            for checkin in current.select_related("person").order_by("-checked_in_at", "-pk")[:LIST_LIMIT]
        ],
        "requirements_unmet_count": unmet.count(),
        "requirements_unmet": [
            {
                "name": checkin.person.name,
                "id_masked": checkin.person.id_masked,
                "checked_in_at": beijing_time(checkin.checked_in_at),
                "url": _admin_url("hotels_checkin_change", checkin.pk),
            }
            for checkin in unmet_rows
        ],
        "requirements_unmet_help": reason_explanation("hotel_requirements_unmet", policy_current()),
    }


# --- administrators and the health authority ---------------------------------------------------
def status_counts_by_day(*, days: int = CHART_DAYS, now: datetime | None = None) -> list[dict]:
    """How many persons were in each status at the end of each of the last `days` Beijing days (today: now).

    Counted backwards from the current rows: the counts at the end of day d are today's counts
    with every status change after d undone (each StatusEvent moves one person from old_status to
    new_status). One GROUP BY over the current statuses and one over the window's events, so
    it costs the same with a million persons; persons never computed yet are not counted.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    counts = dict(
        HealthStatus.objects.filter(computed_at__isnull=False)
        .values_list("status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    changes: dict[date, list[tuple[str, str, int]]] = {}
    rows = (
        StatusEvent.objects.filter(
            computed_at__gte=timezone.make_aware(datetime.combine(first + timedelta(days=1), datetime.min.time())),
            computed_at__lte=now,
        )
        .annotate(day=TruncDate("computed_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day", "old_status", "new_status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for day, old, new, count in rows:
        changes.setdefault(day, []).append((old, new, count))
    series = []
    day = today
    while day >= first:
        series.append({"day": day, "counts": {code: counts.get(code, 0) for code in STATUS_ORDER}})
        # Step back to the end of the previous day: undo this day's changes.
        for old, new, count in changes.get(day, []):
            counts[new] = counts.get(new, 0) - count
            if old:
                counts[old] = counts.get(old, 0) + count
        day -= timedelta(days=1)
    series.reverse()
    return series


def status_chart_svg(series: list[dict]) -> SafeString:
    """Stacked bars, one per day, drawn on the server: no script, no library, no network."""
    width, height = 720, 260
    left, right, top, bottom = 48, 12, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([sum(point["counts"].values()) for point in series] + [1])
    step = plot_w / max(len(series), 1)
    bar = step * 0.7
    labels = dict(HealthStatus.Code.choices)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="status-chart" '
        f'aria-label="{escape(gettext("近14天各健康状态人数"))}">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11" fill="#666">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11" fill="#666">0</text>',
    ]
    for index, point in enumerate(series):
        x = left + index * step + (step - bar) / 2
        y = top + plot_h
        for code in STATUS_ORDER:
            value = point["counts"].get(code, 0)
            if value <= 0:
                continue
            h = plot_h * value / peak
            y -= h
            title = f"{point['day']:%m-%d} {labels[code]}：{value}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{STATUS_COLOURS[code]}">'
                f"<title>{escape(title)}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
            f'fill="#666">{point["day"]:%m-%d}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


@dataclass
class Feed:
    department: str
    source: str
    last: str
    behind: str
    level: str  # fresh | stale | late | never
    laggards: list[dict] = field(default_factory=list)
    laggards_title: str = ""


def _level(last: datetime | None, now: datetime) -> str:
    if last is None:
        return "never"
    if now - last <= FRESH_WITHIN:
        return "fresh"
    if now - last <= LATE_AFTER:
        return "stale"
    return "late"


def _behind(last: datetime | None, now: datetime) -> str:
    if last is None:
        return gettext("从未收到")
    if last >= now:
        return gettext("刚刚")
    return gettext("%(time)s前") % {"time": timesince(last, now, depth=2)}


def _feed(department, source, last, now, laggards=(), laggards_title="") -> Feed:
    return Feed(
        department=str(department),
        source=str(source),
        last=beijing_time(last),
        behind=_behind(last, now),
        level=_level(last, now),
        laggards=list(laggards),
        laggards_title=str(laggards_title),
    )


def _laggards(organisations, now: datetime) -> tuple[datetime | None, list[dict]]:
    """The newest record over all organisations, and the organisations furthest behind (never first)."""
    rows = list(organisations)
    latest = max((row.last for row in rows if row.last is not None), default=None)
    rows.sort(key=lambda row: (row.last is not None, row.last or now))
    return latest, [
        {"name": row.name, "last": beijing_time(row.last), "behind": _behind(row.last, now), "level": _level(row.last, now)}
        for row in rows[:5]
    ]


def feed_freshness(*, now: datetime | None = None) -> list[Feed]:
    """For each source of records: when the last one arrived, and how far behind that is."""
    from entrants.models import InboundCase

    now = now or timezone.now()
    platform_last = ItineraryStay.objects.filter(source=Organisation.Kind.PLATFORM).aggregate(last=Max("received_at"))["last"]
    hotels_last, hotels_behind = _laggards(
        Organisation.objects.filter(kind=Organisation.Kind.HOTEL).annotate(last=Max("checkins__created_at")), now
    )
    communities_last, communities_behind = _laggards(
        Organisation.objects.filter(kind=Organisation.Kind.COMMUNITY).annotate(last=Max("quarantines__updated_at")),
        now,
    )
    border_last = InboundCase.objects.aggregate(last=Max("updated_at"))["last"]
    health_last = Designation.objects.aggregate(last=Max("created_at"))["last"]
    return [
        _feed(_("国家政务服务平台"), _("行程记录（接收时间）"), platform_last, now),
        _feed(_("酒店"), _("入住登记"), hotels_last, now, hotels_behind, _("最久未登记的酒店")),
        _feed(_("社区"), _("隔离记录"), communities_last, now, communities_behind, _("最久未更新的社区")),
        _feed(_("海关边检"), _("入境人员登记"), border_last, now),
        _feed(_("卫生健康部门"), _("病例认定"), health_last, now),
    ]


def flagged_positives(user) -> dict:
    """Persons flagged for the health authority's review (R3: a positive test in the window)."""
    from hotels.models import NucleicAcidTest

    latest_positive = (
        NucleicAcidTest.objects.filter(person=OuterRef("person"), result=NucleicAcidTest.Result.POSITIVE)
        .order_by("-sampled_at")
        .values("sampled_at")[:1]
    )
    flagged = (
        HealthStatus.objects.filter(needs_review=True)
        .select_related("person")
        .annotate(positive_at=Subquery(latest_positive))
        .order_by("-positive_at", "person_id")
    )
    rows = list(flagged[:LIST_LIMIT])
    # The rows shown are a staff read of these persons' statuses: through the audited read, one insert.
    shown = statuses_for_staff(
        user=user, person_ids=[row.person_id for row in rows], screen=Screen.admin(_("首页看板：待复核的阳性"))
    )
    return {
        "count": flagged.count(),
        "rows": [
            {
                "name": row.person.name,
                "id_masked": row.person.id_masked,
                "status": shown[row.person_id].get_status_display(),
                "positive_at": beijing_time(row.positive_at),
                "url": _admin_url("health_person_change", row.person_id),
            }
            for row in rows
            if row.person_id in shown
        ],
        "tests_url": _admin_url("hotels_nucleicacidtest_changelist") + "?positive=review",
    }


def policy_versions(user, *, now: datetime) -> dict:
    """The rules' parameters in force, and the planned versions with the moment each takes effect."""
    timeline = policy_timeline(now=now)

    def row(version):
        return {
            "version": version.version,
            "effective_from": beijing_time(version.effective_from),
            "window_days": version.window_days,
            "comment": version.comment,
        }

    return {
        "current": row(timeline.current) if timeline.current is not None else None,
        "planned": [row(version) for version in timeline.planned],
        # The versions' page is the administrators' (the health authority reads them here).
        "url": _admin_url("health_policy_changelist") if user_is_admin(user) else None,
    }


def open_corrections(user) -> dict:
    queryset = StatusCorrectionRequest.objects.filter(state=StatusCorrectionRequest.State.OPEN)
    if not user_is_admin(user):
        organisation = user_organisation(user)
        queryset = queryset.filter(organisation=organisation) if organisation else queryset.none()
    return {
        "count": queryset.count(),
        "url": _admin_url("health_statuscorrectionrequest_changelist") + "?state__exact=open",
    }


def verification_summary() -> dict | None:
    """The status verifier's latest run (health/services/verification.py), for the health department."""
    from health.services.verification import verification_latest

    run = verification_latest()
    if run is None:
        return None
    return {
        "scope": run.get_scope_display(),
        "checked": run.checked,
        "mismatches": run.mismatches,
        "decisions_differ": run.decisions_differ,
        "repaired": run.repaired,
        "finished_at": beijing_time(run.finished_at),
        "examples": [
            {
                "id_masked": row["id_masked"],
                "stored": HealthStatus.Code(row["stored"]["status"]).label,
                "fresh": HealthStatus.Code(row["fresh"]["status"]).label,
            }
            for row in run.examples[:5]
        ],
    }


def dashboard_for(user, *, now: datetime | None = None) -> dict | None:
    """The sections of the home page for this staff account (None: nothing beyond the app list)."""
    role = dashboard_role(user)
    if role is None:
        return None
    now = now or timezone.now()
    context: dict = {"role": role, "now": beijing_time(now)}
    if role == Role.COMMUNITY:
        context["due"] = community_due(user, today=timezone.localdate(now))
        context["by_status"] = persons_by_status(user)
        context["corrections"] = open_corrections(user)
        context["quarantines_url"] = _admin_url("communities_quarantinerecord_changelist")
        context["inbound"] = community_inbound(user)
    elif role == Role.HOTEL:
        context["hotel"] = hotel_guests(user)
    elif role == Role.BORDER:
        context["border"] = border_cases(today=timezone.localdate(now))
    else:
        series = status_counts_by_day(now=now)
        context["chart"] = status_chart_svg(series)
        context["chart_rows"] = [
            {"day": f"{point['day']:%m-%d}", "counts": [point["counts"][code] for code in STATUS_ORDER]} for point in series
        ]
        context["legend"] = _labelled_counts(series[-1]["counts"], _admin_url("health_person_changelist"))
        context["feeds"] = feed_freshness(now=now)
        context["flagged"] = flagged_positives(user)
        context["corrections"] = open_corrections(user)
        context["verification"] = verification_summary()
        context["policy"] = policy_versions(user, now=now)
        from health.passes.staff import passes_summary

        context["passes"] = passes_summary(now=now)
        context["duplicates"] = likely_duplicates()
        # The health department's two writes, one click from the home page.
        context["actions"] = [
            {"key": "designation-add", "label": gettext("认定病例"), "url": _admin_url("health_designation_add")},
            {"key": "riskarea-add", "label": gettext("设定风险地区"), "url": _admin_url("health_riskarea_add")},
        ]
    return context


def likely_duplicates(*, limit: int = 20) -> list[dict]:
    """Persons who may be one, registered under different documents (health.services.merge): each
    group with a link to the persons list showing just them, where the merge action is."""
    from health.identity import document_label
    from health.services.merge import merge_suggestions

    return [
        {
            "birth_date": f"{group['birth_date']:%Y-%m-%d}",
            "persons": [
                {"name": person.name, "document": document_label(person), "id_masked": person.id_masked}
                for person in group["persons"]
            ],
            "url": _admin_url("health_person_changelist") + "?id__in=" + ",".join(str(p.pk) for p in group["persons"]),
        }
        for group in merge_suggestions(limit=limit)
    ]
