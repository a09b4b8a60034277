"""Admin access by membership, not by Django model permissions.

Administrators see everything; staff of the organisation kinds an admin class names see and
change only their own organisation's rows, filtered on the record's denormalised organisation
column (one indexed column, no joins). Deleting is for administrators only.
"""
from django.contrib import admin

from health.selectors import user_is_admin, user_organisation


class OrganisationScopedAdmin(admin.ModelAdmin):
    organisation_kinds: tuple[str, ...] = ()
    # The record's FK to health.Organisation that owns it; None = no row-level filter for members.
    organisation_field: str | None = "organisation"
    member_can_add = True
    member_can_change = True

    def is_admin(self, request) -> bool:
        return user_is_admin(request.user)

    def member_organisation(self, request):
        """The caller's organisation if its kind is served by this admin, else None."""
        organisation = user_organisation(request.user)
        if organisation is not None and organisation.kind in self.organisation_kinds:
            return organisation
        return None

    def allowed(self, request) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        return self.is_admin(request) or self.member_organisation(request) is not None

    def has_module_permission(self, request) -> bool:
        return self.allowed(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.allowed(request) and (obj is None or self.owns(request, obj))

    def has_add_permission(self, request) -> bool:
        return self.allowed(request) and (self.is_admin(request) or self.member_can_add)

    def has_change_permission(self, request, obj=None) -> bool:
        if not self.allowed(request) or not (self.is_admin(request) or self.member_can_change):
            return False
        return obj is None or self.owns(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.is_admin(request)

    def owns(self, request, obj) -> bool:
        if self.is_admin(request) or self.organisation_field is None:
            return True
        organisation = self.member_organisation(request)
        return organisation is not None and getattr(obj, f"{self.organisation_field}_id") == organisation.pk

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.is_admin(request) or self.organisation_field is None:
            return queryset
        organisation = self.member_organisation(request)
        if organisation is None:
            return queryset.none()
        return queryset.filter(**{f"{self.organisation_field}_id": organisation.pk})


class ReadOnlyAdmin(admin.ModelAdmin):
    """For append-only records (status events, access logs): nobody adds, changes or deletes."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
