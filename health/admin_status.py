"""Admin lists and record pages that show a person's status: every status through the one audited read.

A model admin that shows a status names its status columns (`status_columns`) and reads each row's
status with `shown_status(obj)`, never from `person.health_status`. A list page reads the statuses
of the rows it shows in one call of `health.status_reads.statuses_for_staff` (one insert of access
rows for the page), only when one of those columns is on the list; a record page reads its one
person when the status field is rendered (a page that is not shown is not logged).
`status_visible(request, obj)` says whether this viewer may see this row's status at all (a hotel:
only while the guest is checked in); a row it refuses shows no status and writes no access row.
A message after a save or an action that names the resulting status reads it with `message_status`.
"""
from __future__ import annotations

from django.contrib import admin

from health.models import HealthStatus
from health.status_reads import Screen, status_for_staff, statuses_for_staff

_SHOWN = "_shown_status"
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

    def status_person_id(self, obj) -> int:
        return getattr(obj, self.status_person_attribute)

    def shown_status(self, obj) -> HealthStatus | None:
        """The status this row shows, from the audited read (None: not shown to this viewer)."""
        if hasattr(obj, _SHOWN):
            return getattr(obj, _SHOWN)
        reader = getattr(obj, _READER, None)
        status = reader() if reader is not None else None
        setattr(obj, _SHOWN, status)
        return status

    def message_status(self, request, obj, *, what: str = "保存后提示") -> HealthStatus | None:
        """The row's person's status for a message after a save or an action (recomputed, on record, the
        screen named "<model> <what>"); None when this viewer does not see it."""
        if not self.status_visible(request, obj):
            return None
        return status_for_staff(
            user=request.user, person_id=self.status_person_id(obj), screen=Screen.admin_of(self.model, what)
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
        visible = [obj for obj in rows if shows_status and self.status_visible(request, obj)]
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
