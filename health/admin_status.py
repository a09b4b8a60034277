"""Admin lists and record pages that show a person's status: every status through the one audited read.

A model admin that shows a status names its status columns (`status_columns`) and reads each row's
status with `shown_status(obj)`, never from `person.health_status`. A list page reads the statuses
of the rows it shows in one call of `health.status_reads.statuses_for_staff` (one insert of access
rows for the page), only when one of those columns is on the list; a record page reads its one
person when the status field is rendered (a page that is not shown is not logged).
`status_visible(request, obj)` says whether this viewer may see this row's status at all (a hotel:
only while the guest is checked in); a row it refuses shows no status and writes no access row.
A message after a save or an action that names the resulting status reads it with `message_status`
(one person) or `message_statuses` (a batch: one insert), and words it with `status_words`; the same
screen name in Chinese ("隔离记录 保存后提示"), like every other read. A list's "健康状态" filter
(`status_filter`) narrows only to rows whose status this viewer may see (`status_filterable`).
"""
from __future__ import annotations

from collections.abc import Iterable

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from health.explanations import status_summary
from health.impact import ImpactPreview
from health.models import HealthStatus, Person
from health.services.statuses import policy_current
from health.status_reads import Screen, status_for_staff, statuses_for_staff

_SHOWN = "_shown_status"
# A batch action tells the first few persons' statuses one by one; the rest are on their pages.
MESSAGES_SHOWN = 10
SAVED = "保存后提示"
_READER = "_shown_status_reader"


class AuditedStatusAdmin(admin.ModelAdmin):
    # The attribute of a row that is its person's id ("pk" for the person admin itself).
    status_person_attribute = "person_id"
    # The list columns that show the status: the page is logged when one of them is on the list.
    status_columns: tuple[str, ...] = ()
    # Whether the record page recomputes a stale status before showing it.
    status_page_fresh = True

    def status_visible(self, request, obj) -> bool:
        return True

    def status_listed_row(self, request, obj) -> bool:
        """Whether a list page reads this row's status (by default: whether this viewer sees it)."""
        return self.status_visible(request, obj)

    def status_person_id(self, obj) -> int:
        return getattr(obj, self.status_person_attribute)

    def status_person(self, obj) -> Person:
        return obj if isinstance(obj, Person) else obj.person

    def status_filterable(self, request, queryset):
        """The rows a "健康状态" filter may narrow (those whose status this viewer sees)."""
        return queryset

    def shown_status(self, obj) -> HealthStatus | None:
        """The status this row shows, from the audited read (None: not shown to this viewer)."""
        if hasattr(obj, _SHOWN):
            return getattr(obj, _SHOWN)
        reader = getattr(obj, _READER, None)
        status = reader() if reader is not None else None
        setattr(obj, _SHOWN, status)
        return status

    def message_status(self, request, obj, *, what: str = SAVED) -> HealthStatus | None:
        """The row's person's status for a message after a save or an action (recomputed, on record, the
        screen named "<model> <what>"); None when this viewer does not see it."""
        if not self.status_visible(request, obj):
            return None
        return status_for_staff(
            user=request.user, person_id=self.status_person_id(obj), screen=Screen.admin_of(self.model, what)
        )

    # Whether a save (add or change) ends with a message of the person's resulting status in words.
    status_message_after_save = False

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        if self.status_message_after_save:
            self.message_statuses(request, [obj])
        return response

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        if self.status_message_after_save:
            self.message_statuses(request, [obj])
        return response

    def message_statuses(self, request, objects: Iterable, *, what: str = SAVED) -> None:
        """One message per row's person (the first few of a batch): "张伟（1101**…）的健康状态：未见异常。…".

        The statuses are read through the audited read in one call (one insert for the batch, recomputed
        when the save left them stale, the screen "<model> <what>"); a row whose status this viewer does
        not see gets no message and no access row.
        """
        rows = list({self.status_person_id(obj): obj for obj in objects}.values())
        shown = [obj for obj in rows if self.status_visible(request, obj)][:MESSAGES_SHOWN]
        if not shown:
            return
        statuses = statuses_for_staff(
            user=request.user,
            person_ids=[self.status_person_id(obj) for obj in shown],
            screen=Screen.admin_of(self.model, what),
            fresh=True,
        )
        policy = policy_current()
        for obj in shown:
            status = statuses.get(self.status_person_id(obj))
            if status is not None:
                words = status_words(self.status_person(obj), status, policy=policy)
                self.message_user(request, words, status_level(status))
        rest = len(rows) - MESSAGES_SHOWN
        if rest > 0:
            self.message_user(
                request, gettext("其余 %(count)d 人的健康状态请在人员页面查看。") % {"count": rest}, messages.INFO
            )

    # --- list pages: one read (one insert) for the rows of the page ---
    def get_changelist(self, request, **kwargs):
        base = super().get_changelist(request, **kwargs)
        model_admin = self

        class AuditedChangeList(base):
            def get_results(self, request):
                super().get_results(request)
                shows_status = any(column in self.list_display for column in model_admin.status_columns)
                model_admin.statuses_attach(request, self.result_list, shows_status=shows_status)

        return AuditedChangeList

    def statuses_attach(self, request, objects, *, shows_status: bool = True, screen: Screen | None = None) -> None:
        rows = list(objects)
        visible = [obj for obj in rows if shows_status and self.status_listed_row(request, obj)]
        statuses = statuses_for_staff(
            user=request.user,
            person_ids=[self.status_person_id(obj) for obj in visible],
            screen=screen or Screen.admin_list(self.model),
        )
        visible_ids = {id(obj) for obj in visible}
        for obj in rows:
            setattr(obj, _SHOWN, statuses.get(self.status_person_id(obj)) if id(obj) in visible_ids else None)

    # --- record pages: the one person, read when the page shows the status ---
    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            setattr(obj, _READER, self._page_reader(request, obj))
        return obj

    def _page_reader(self, request, obj):
        def read() -> HealthStatus | None:
            if not self.status_visible(request, obj):
                return None
            return status_for_staff(
                user=request.user,
                person_id=self.status_person_id(obj),
                screen=Screen.admin_page(self.model),
                fresh=self.status_page_fresh,
            )

        return read


# --- words for messages and list cells (from a status read above; no read here) -----------------
def status_words(person: Person, status: HealthStatus, *, policy=None) -> str:
    return gettext("%(name)s（%(id)s）的健康状态：%(summary)s") % {
        "name": person.name,
        "id": person.id_masked,
        "summary": status_summary(status, policy=policy or policy_current()),
    }


def status_level(status: HealthStatus) -> int:
    return messages.SUCCESS if status.status == HealthStatus.Code.NO_ABNORMALITY else messages.WARNING


def impact_words(preview: ImpactPreview) -> str:
    """How many persons a saved change moves, and between which statuses (from the engine's preview)."""
    if not preview.changed:
        return gettext("没有人员的健康状态因此改变。")
    moves = "；".join(
        gettext("%(from)s → %(to)s %(count)d 人") % row
        if not row["same"]
        else gettext("%(from)s（状态不变，原因改变）%(count)d 人") % row
        for row in preview.transition_rows()
    )
    words = gettext("%(count)d 人的健康状态随之改变：%(moves)s。") % {"count": preview.changed, "moves": moves}
    if preview.estimated:
        words += gettext("（按抽样估算）")
    return words


def status_filter(path: str = "health_status__status"):
    """A list filter "健康状态" on the stored decision (`path`: the lookup to HealthStatus.status).

    Only the rows whose status the viewer sees are narrowed (`status_filterable` of an audited admin):
    filtering is reading the status too.
    """

    class StatusFilter(admin.SimpleListFilter):
        title = _("健康状态")
        parameter_name = "status"

        def lookups(self, request, model_admin):
            return HealthStatus.Code.choices

        def queryset(self, request, queryset):
            if self.value() in HealthStatus.Code.values:
                if isinstance(self.model_admin, AuditedStatusAdmin):
                    queryset = self.model_admin.status_filterable(request, queryset)
                return queryset.filter(**{path: self.value()})
            return queryset

        def __init__(self, request, params, model, model_admin):
            self.model_admin = model_admin
            super().__init__(request, params, model, model_admin)

    return StatusFilter
