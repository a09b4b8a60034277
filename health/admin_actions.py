"""An admin action offered where the eye is: a button on the record's own page (and rows elsewhere).

The button posts the record to its list's action, as if it had been ticked there: the action's
confirmation page comes next and nothing is written before it. One confirmation, one service call,
one place that decides who may act (the action's own permission).
"""
from __future__ import annotations

from django.contrib import admin
from django.urls import reverse


class RecordActionAdmin(admin.ModelAdmin):
    """`record_action` names an admin action of this class; `record_action_open(obj)` says if it still applies."""

    change_form_template = "admin/health/record_action_change_form.html"
    record_action: str = ""

    def record_action_open(self, obj) -> bool:
        raise NotImplementedError

    def record_action_offer(self, request, obj) -> dict | None:
        """The button for this record and user, or None: the action must be allowed and still apply."""
        if obj is None or not self.record_action or not self.record_action_open(obj):
            return None
        actions = self.get_actions(request)
        if self.record_action not in actions:
            return None
        _function, name, description = actions[self.record_action]
        opts = self.model._meta
        return {
            "name": name,
            "label": str(description),
            "url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist", current_app=self.admin_site.name),
            "pk": obj.pk,
        }

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["record_action"] = self.record_action_offer(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)


def record_action_button(*, url: str, name: str, label: str, pk) -> dict:
    """The same button for a row outside the admin class (a dashboard list)."""
    return {"url": url, "name": name, "label": label, "pk": pk}
