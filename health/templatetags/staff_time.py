"""The staff time formats (health.display) as template filters: {% load staff_time %}{{ moment|beijing_time }}."""
from django import template

from health import display

register = template.Library()


@register.filter
def beijing_time(value):
    return display.beijing_time(value)


@register.filter
def beijing_day(value):
    return display.beijing_day(value)
