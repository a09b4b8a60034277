"""Merging persons in the admin: the action on the persons list (administrators and the health
department only) and the audit of merges. The work is health.services.merge's."""
from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from health.admin_base import OrganisationScopedAdmin
from health.display import beijing_time
from health.identity import document_label
from health.models import Organisation, PersonMerge
from health.services.merge import may_merge, persons_merge


@admin.action(description=_("合并所选的两名人员（同一人以不同证件登记）"), permissions=["merge"])
def merge_selected(modeladmin, request, queryset):
    """Two persons selected: a confirmation page asks which one is kept and why, then merges (no undo)."""
    persons = list(queryset.order_by("pk")[:3])
    if len(persons) != 2:
        modeladmin.message_user(request, gettext("请恰好选择两名人员进行合并。"), messages.ERROR)
        return None
    error = None
    if request.POST.get("post") == "yes":
        keep_id = request.POST.get("keep")
        reason = request.POST.get("reason", "")
        by_id = {str(person.pk): person for person in persons}
        if keep_id not in by_id:
            error = gettext("请选择保留哪一名人员。")
        else:
            keep = by_id.pop(keep_id)
            (merge,) = by_id.values()
            try:
                event = persons_merge(actor=request.user, keep=keep, merge=merge, reason=reason)
            except ValidationError as refused:
                error = "；".join(refused.messages)
            else:
                modeladmin.message_user(
                    request,
                    gettext("已将 %(merged)s 并入 %(kept)s：移动记录 %(count)d 条，健康状态已重新判定。")
                    % {
                        "merged": f"{event.merged_name} {event.merged_masked}",
                        "kept": f"{keep.name} {keep.id_masked}",
                        "count": sum(event.moved.values()),
                    },
                    messages.SUCCESS,
                )
                return None
    return TemplateResponse(
        request,
        "admin/health/person/merge_confirmation.html",
        {
            **modeladmin.admin_site.each_context(request),
            "opts": modeladmin.model._meta,
            "title": gettext("合并人员"),
            "persons": [(person, document_label(person)) for person in persons],
            "error": error,
            "reason": request.POST.get("reason", ""),
            "action": "merge_selected",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


@admin.register(PersonMerge)
class PersonMergeAdmin(OrganisationScopedAdmin):
    """The merges made: who merged whom into whom, when, why and what moved. Append-only."""

    organisation_kinds = (Organisation.Kind.HEALTH,)
    organisation_field = None
    list_display = ("merged_at_display", "kept", "merged_display", "reason", "merged_by")
    fields = ("merged_at_display", "kept", "merged_display", "reason", "moved", "merged_by")
    readonly_fields = fields

    @admin.display(description=_("合并时间"), ordering="merged_at")
    def merged_at_display(self, obj):
        return beijing_time(obj.merged_at)

    @admin.display(description=_("并入的人员"))
    def merged_display(self, obj):
        label = document_label(obj.merged_document_type)
        return f"{obj.merged_name} {obj.merged_masked}（{label}）"

    def has_view_permission(self, request, obj=None) -> bool:
        return self.allowed(request) and may_merge(request.user)

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
