"""Template tags of the admin home page: the per-role dashboard (staff.dashboard) and the language switch."""
from django import template

from staff.dashboard import dashboard_for

register = template.Library()


@register.inclusion_tag("admin/health/dashboard.html", takes_context=True)
def staff_dashboard(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"dashboard": dashboard_for(user) if user is not None and user.is_authenticated else None}
