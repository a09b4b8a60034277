"""After a save: the person's resulting status in words, from the stored decision, as a message on the page.

Every status told here is a staff read like any other: one bulk access row per message batch
(health.services.access), then the stored decision, recomputed first if the save left it stale.
The words are the explanation layer's (health.explanations); no rule is restated here.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from health.explanations import status_summary
from health.impact import ImpactPreview
from health.models import HealthStatus, Person
from health.services.access import Channel, status_accesses_record
from health.services.statuses import person_status_fresh, policy_current

# A bulk action tells the first few persons' statuses one by one; the rest are on their pages.
MESSAGES_SHOWN = 10
PURPOSE = _("保存后告知结果")


def statuses_after_save(*, user, persons: Sequence[Person]) -> list[tuple[Person, HealthStatus]]:
    """The persons' statuses after a write, each read on record (one insert for the batch)."""
    shown = list(persons)[:MESSAGES_SHOWN]
    status_accesses_record(user=user, person_ids=[person.pk for person in shown], channel=Channel.ADMIN, purpose=str(PURPOSE))
    return [(person, person_status_fresh(person.pk)) for person in shown]


def status_words(person: Person, status: HealthStatus, *, policy=None) -> str:
    return gettext("%(name)s（%(id)s）的健康状态：%(summary)s") % {
        "name": person.name,
        "id": person.id_masked,
        "summary": status_summary(status, policy=policy or policy_current()),
    }


def status_level(status: HealthStatus) -> int:
    return messages.SUCCESS if status.status == HealthStatus.Code.NO_ABNORMALITY else messages.WARNING


def message_statuses(modeladmin, request, persons: Sequence[Person]) -> None:
    """One message per person (the first few of a batch): "张伟（1101**…）的健康状态：未见异常。社区已解除隔离"."""
    policy = policy_current()
    persons = list({person.pk: person for person in persons}.values())
    for person, status in statuses_after_save(user=request.user, persons=persons):
        modeladmin.message_user(request, status_words(person, status, policy=policy), status_level(status))
    if len(persons) > MESSAGES_SHOWN:
        modeladmin.message_user(
            request,
            gettext("其余 %(count)d 人的健康状态请在人员页面查看。") % {"count": len(persons) - MESSAGES_SHOWN},
            messages.INFO,
        )


def impact_words(preview: ImpactPreview) -> str:
    """How many persons a saved change moves, and between which statuses (from the engine's preview)."""
    if not preview.changed:
        return gettext("没有人员的健康状态因此改变。")
    moves = "；".join(
        gettext("%(from)s → %(to)s %(count)d 人") % row if not row["same"] else gettext("%(from)s（状态不变，原因改变）%(count)d 人") % row
        for row in preview.transition_rows()
    )
    words = gettext("%(count)d 人的健康状态随之改变：%(moves)s。") % {"count": preview.changed, "moves": moves}
    if preview.estimated:
        words += gettext("（按抽样估算）")
    return words


# --- status columns and filters on lists ------------------------------------------------------
def status_filter(path: str = "health_status__status"):
    """A list filter "健康状态" on the stored decision (`path`: the lookup to HealthStatus.status)."""

    class StatusFilter(admin.SimpleListFilter):
        title = _("健康状态")
        parameter_name = "status"

        def lookups(self, request, model_admin):
            return HealthStatus.Code.choices

        def queryset(self, request, queryset):
            if self.value() in HealthStatus.Code.values:
                return queryset.filter(**{path: self.value()})
            return queryset

    return StatusFilter


def stored_status_words(status: HealthStatus | None) -> str:
    """A list cell: the stored status in words, "（更新中）" while a recomputation is pending."""
    if status is None or status.computed_at is None:
        return gettext("待计算")
    label = str(HealthStatus.Code(status.status).label)
    return f"{label}（{gettext('更新中')}）" if status.dirty else label


class AuditedStatusListAdmin(admin.ModelAdmin):
    """A list with a status column: the persons of the page shown are on record (one bulk insert per page)."""

    status_person_attribute = "pk"  # from a row to its person's id
    status_column = "stored_status"

    def status_shown(self, request) -> bool:
        return True

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        return columns if self.status_shown(request) else [column for column in columns if column != self.status_column]

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        return filters if self.status_shown(request) else ()

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if request.method in ("GET", "HEAD") and changelist is not None and self.status_shown(request):
            person_ids = sorted({getattr(row, self.status_person_attribute) for row in changelist.result_list})
            if person_ids:
                status_accesses_record(user=request.user, person_ids=person_ids, channel=Channel.ADMIN, purpose=str(_("列表")))
        return response
