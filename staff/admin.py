"""Admin pages that cross apps. The person page (the core's PersonAdmin) gets its explanation here:
the status in words with the records of every app, each linked if this viewer may open it."""
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from health.admin import PersonAdmin
from health.models import Person
from health.services.statuses import policy_current
from staff.explanations import person_explanation


class PersonPageAdmin(PersonAdmin):
    def explanation(self, request, person, status, *, show_rule_ids: bool):
        return person_explanation(
            person, status, link_for=self._link_for(request), policy=policy_current(), show_rule_ids=show_rule_ids
        )

    def _link_for(self, request):
        """A record's admin page if this viewer may open it; False if the record is not theirs to see."""

        def link_for(record):
            model_admin = self.admin_site._registry.get(type(record))
            if model_admin is None or not model_admin.has_view_permission(request, record):
                return False
            opts = record._meta
            try:
                return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])
            except NoReverseMatch:
                return None

        return link_for


admin.site.unregister(Person)
admin.site.register(Person, PersonPageAdmin)
