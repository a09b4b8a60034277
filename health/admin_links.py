"""A read-only relation on an admin page is a link only when the viewer may open what it points at.

Django's admin links every read-only foreign key to the related object's page, whether or not the
viewer may open it: a community worker's quarantine page linked to 社区 and to the registering
user, and both answered 403. The link is now checked against the related model's admin
(`has_view_permission` for this viewer and object); otherwise the name is plain text.
The viewer is the request being answered, kept for the time of the admin view and its rendering: the
admin site wraps each of its views (`viewer_kept`, staff/admin_site.py). Not a middleware: every
other request (the API, the public status query) would pay for a layer that only admin pages use.
"""
from __future__ import annotations

import functools
from contextvars import ContextVar

from django.contrib.admin import helpers

_viewer: ContextVar = ContextVar("admin_link_viewer", default=None)
_django_admin_url = helpers.AdminReadonlyField.get_admin_url


def related_link_allowed(request, model_admin, remote_model, remote_obj) -> bool:
    related_admin = model_admin.admin_site._registry.get(remote_model)
    return related_admin is not None and related_admin.has_view_permission(request, remote_obj)


def _admin_url_if_allowed(self, remote_field, remote_obj):
    request = _viewer.get()
    if request is not None and not related_link_allowed(request, self.model_admin, remote_field.model, remote_obj):
        return str(remote_obj)
    return _django_admin_url(self, remote_field, remote_obj)


helpers.AdminReadonlyField.get_admin_url = _admin_url_if_allowed


def viewer_kept(view):
    """`view` answering with its request kept as the viewer, its template response rendered meanwhile
    (Django would render it after the view returns, when the viewer is gone)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        token = _viewer.set(request)
        try:
            response = view(request, *args, **kwargs)
            if callable(getattr(response, "render", None)) and not getattr(response, "is_rendered", True):
                response.render()
            return response
        finally:
            _viewer.reset(token)

    return wrapper
