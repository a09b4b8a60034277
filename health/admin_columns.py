"""List columns at 1366 px: times in the short Beijing form and shorter headers, for every list of the product.

A model field named in `list_display` that is a date or a time becomes a column of the same name plus
"_cell", sorted by the field, showing `health.display.beijing_short` with the full Beijing time as its
tooltip; `list_headers` gives any plain field a shorter header than its form label. The form and the
record page keep the field's own label and the full time (docs/staff-guide.md, "Lists").
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import display_for_field
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.html import format_html

from health.display import beijing_day, beijing_short, beijing_time


class CompactListAdmin(admin.ModelAdmin):
    # field name -> the list's header for it (shorter than the field's label, which forms keep)
    list_headers: dict = {}

    def get_changelist(self, request, **kwargs):
        # At the list itself, so that an admin's own get_list_display (per role) is compacted too.
        base = super().get_changelist(request, **kwargs)
        model_admin = self

        class CompactChangeList(base):
            def __init__(self, request, model, list_display, list_display_links, *args, **kwargs):
                list_display = [model_admin.compact_column(name) for name in list_display]
                if list_display_links:
                    list_display_links = [model_admin.compact_column(name) for name in list_display_links]
                super().__init__(request, model, list_display, list_display_links, *args, **kwargs)

        return CompactChangeList

    def get_sortable_by(self, request):
        return [self.compact_column(name) for name in super().get_sortable_by(request)]

    def compact_column(self, name):
        if not isinstance(name, str):
            return name
        try:
            field = self.model._meta.get_field(name)
        except FieldDoesNotExist:
            return name
        if field.is_relation:
            return name
        is_time = isinstance(field, models.DateField)  # DateTimeField is a DateField
        header = self.list_headers.get(name)
        if not is_time and header is None:
            return name
        column = f"{name}_cell"
        if not hasattr(self, column):
            setattr(self, column, self._cell(field, header, is_time))
        return column

    def _cell(self, field, header, is_time: bool):
        empty = self.get_empty_value_display()

        def cell(obj):
            value = getattr(obj, field.attname)
            if not is_time:
                return display_for_field(value, field, empty)
            if value is None:
                return None
            full = beijing_time(value) if isinstance(field, models.DateTimeField) else beijing_day(value)
            return format_html('<span class="hk-time" title="{}">{}</span>', full, beijing_short(value))

        cell.short_description = header or field.verbose_name
        cell.admin_order_field = field.name
        return cell
