"""A confirmation step with the impact preview before an admin save (risk areas, policy versions).

The first "save" of a valid form renders the preview (health/impact.py: the engine on the real
facts, nothing written) with the submitted values carried in hidden fields; "确认保存" posts them
again with `_impact_confirmed`, and only then does the admin save through its service. A form with
errors is shown as usual.
"""
from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from health.explanations import reasons_sentence
from health.impact import ImpactPreview
from health.status_reads import Screen, statuses_for_staff

CONFIRMED = "_impact_confirmed"


class ImpactPreviewAdmin(admin.ModelAdmin):
    impact_preview_template = "admin/health/impact_preview.html"
    impact_preview_title = _("预览影响")

    def impact_preview(self, request, form, obj) -> ImpactPreview:
        """The preview of saving this valid form (`obj`: the stored object being changed, or None)."""
        raise NotImplementedError

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method != "POST" or CONFIRMED in request.POST or "_popup" in request.POST:
            return super().changeform_view(request, object_id, form_url, extra_context)
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        if object_id and (obj is None or not self.has_change_permission(request, obj)):
            return super().changeform_view(request, object_id, form_url, extra_context)
        if not object_id and not self.has_add_permission(request):
            return super().changeform_view(request, object_id, form_url, extra_context)
        form_class = self.get_form(request, obj, change=obj is not None)
        form = form_class(request.POST, request.FILES, instance=obj)
        if not form.is_valid():
            return super().changeform_view(request, object_id, form_url, extra_context)
        preview = self.impact_preview(request, form, obj)
        # The persons shown (masked) with their statuses are a staff read like any other: on record.
        statuses_for_staff(
            user=request.user,
            person_ids=[row["person_id"] for row in preview.sample],
            screen=Screen.admin_of(self.model, "影响预览"),
            purpose=str(_("影响预览")),
        )
        # The submitted values, to post again unchanged on confirmation (the token is the page's own).
        carried = [(key, value) for key, values in request.POST.lists() if key != "csrfmiddlewaretoken" for value in values]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": self.impact_preview_title,
            "object": obj,
            "preview": preview,
            "transitions": preview.transition_rows(),
            "sample": [row | {"reasons_text": reasons_sentence(row["reasons"])} for row in preview.sample],
            "carried": carried,
            "confirmed_field": CONFIRMED,
        }
        return TemplateResponse(request, self.impact_preview_template, context)
