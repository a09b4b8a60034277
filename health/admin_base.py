"""Admin access by membership, not by Django model permissions.

Administrators see everything; staff of the organisation kinds an admin class names see and
change only their own organisation's rows, filtered on the record's denormalised organisation
column (one indexed column, no joins). Deleting is for administrators only.
"""
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from health import replicas
from health.admin_columns import CompactListAdmin
from health.errors import ApplicationError
from health.identity import digest_or_none
from health.selectors import persons_by_typed_number, user_is_admin, user_organisation

# What a service raises when it refuses a write: shown to staff as words, never as a 500.
REFUSALS = (ValidationError, ApplicationError)


def refusal_messages(error: Exception, model=None, *, fields=()) -> dict[str | None, list[str]]:
    """A service's refusal as messages by form field (None: the form or page as a whole).

    A field the form does not show is named by its model label, so "该时间不能晚于当前时间。" says
    which time; a field code never reaches the page.
    """
    if isinstance(error, ApplicationError):
        field = error.field if error.field in fields else None
        return {field: [str(error.message)]}
    if not hasattr(error, "error_dict"):
        return {None: [str(message) for message in error.messages]}
    found: dict[str | None, list[str]] = {}
    for field, errors in error.error_dict.items():
        texts = [str(message) for message in ValidationError(errors).messages]
        if field in fields:
            found.setdefault(field, []).extend(texts)
            continue
        label = _field_label(model, field)
        found.setdefault(None, []).extend(f"{label}：{text}" if label and label not in text else text for text in texts)
    return found


def refusal_text(error: Exception, model=None) -> str:
    return " ".join(text for texts in refusal_messages(error, model).values() for text in texts)


def _field_label(model, field: str) -> str | None:
    if model is None or field == NON_FIELD_ERRORS:
        return None
    try:
        return str(model._meta.get_field(field).verbose_name)
    except FieldDoesNotExist:
        return None


class ServiceRefusalAdmin(CompactListAdmin):
    """Every form, action and deletion of the admin turns a service's refusal into words on the page.

    The services validate again under their locks (a record lifted or checked out by another desk
    a moment ago, a time a little ahead of the clock): what they refuse must reach staff as a
    message, never as a server error. A refused form is shown again, as typed, with the refusal
    at its top (or on its field); a refused action or deletion returns to the page with a message.
    Nothing is written: each admin view runs in a transaction the refusal rolls back.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REFUSALS as error:
            if request.method != "POST" or getattr(request, "_service_refusal", None) is not None:
                raise
            request._service_refusal = error
            # Once more, with the refusal as a form error: the form comes back with what was typed.
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, "_service_refusal", None)
        if refusal is None:
            return form
        model = self.model

        class Refused(form):
            def clean(self):
                cleaned = super().clean()
                for field, texts in refusal_messages(refusal, model, fields=self.fields).items():
                    self.add_error(field, texts)
                return cleaned

        Refused.__name__ = Refused.__qualname__ = form.__name__
        return Refused

    def response_action(self, request, queryset):
        try:
            return super().response_action(request, queryset)
        except REFUSALS as error:
            self.message_user(request, refusal_text(error, self.model), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except REFUSALS as error:
            self.message_user(request, refusal_text(error, self.model), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class OrganisationScopedAdmin(ServiceRefusalAdmin):
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

    def changelist_view(self, request, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return super().changelist_view(request, extra_context)

        # A list page is a read: served by a healthy replica when there is one (health/replicas.py),
        # rendered inside so that its querysets are evaluated there too.
        def page():
            response = super(OrganisationScopedAdmin, self).changelist_view(request, extra_context)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            return response

        return replicas.reads(page, user=request.user)

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


class HashedIdSearchAdmin(admin.ModelAdmin):
    """Search by name, or by a whole number of any identity document found through its keyed digests.

    A number is typed without its type: the digests it could have (resident ID, permits, permanent
    residence card, a passport of every state; health.selectors.persons_by_typed_number) are looked
    up, a merged document leading to its kept person. The search box posts
    (templates/admin/hashed_search_change_list.html) and the change list is redirected to with the
    found persons' digests, so a typed number never stands in a URL, a browser history or an access
    log. A number typed into the URL by hand is rewritten the same way.
    """

    change_list_template = "admin/hashed_search_change_list.html"
    # The lookup from this admin's rows to the person's digest.
    id_digest_lookup = "person__id_digest"

    def lookup_allowed(self, lookup, value, request=None):
        return lookup in (self.id_digest_lookup, f"{self.id_digest_lookup}__in") or super().lookup_allowed(
            lookup, value, request
        )

    def searched_as_text(self, term: str) -> bool:
        """A term this list searches as text although it has digits (a list with a code column says so)."""
        return False

    def typed_number(self, term: str):
        return None if self.searched_as_text(term.strip()) else persons_by_typed_number(term)

    def get_search_results(self, request, queryset, search_term):
        typed = self.typed_number(search_term)
        if typed is not None:
            return queryset.filter(**{f"{self.id_digest_lookup}__in": typed.found}), False
        return super().get_search_results(request, queryset, search_term)

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and "_hashed_search" in request.POST:
            return self._search_redirect(request, request.POST.get("q", ""))
        term = request.GET.get("q", "")
        if not self.searched_as_text(term.strip()):
            if looks_like_id_number(term) or self.typed_number(term) is not None:
                return self._search_redirect(request, term)
        filtered = any(key in (self.id_digest_lookup, f"{self.id_digest_lookup}__in") for key in request.GET)
        extra_context = {**(extra_context or {}), "id_digest_filtered": filtered}
        return super().changelist_view(request, extra_context)

    def _search_redirect(self, request, term: str) -> HttpResponseRedirect:
        term = term.strip()
        typed = self.typed_number(term)
        if self.searched_as_text(term):
            query = {"q": term}
        elif typed is not None and not typed.found and looks_like_resident_id(term) and digest_or_none(term) is None:
            # A resident ID mistyped (it would pass as a passport number of 18 digits): say so.
            self.message_user(request, _("身份证号码无效，请输入完整的18位号码。"), messages.WARNING)
            query = {}
        elif typed is not None:
            # The persons found; for none, a digest that names nobody (the list says so: 0 条).
            digests = typed.found or typed.candidates[:1]
            if len(digests) == 1:
                query = {self.id_digest_lookup: digests[0]}
            else:
                query = {f"{self.id_digest_lookup}__in": ",".join(digests)}
        elif looks_like_id_number(term):
            # Not a valid number, but it may be most of one: never echo it into the URL.
            self.message_user(request, _("证件号码无效，请输入完整的身份证号码或其他证件号码。"), messages.WARNING)
            query = {}
        else:
            query = {"q": term} if term else {}
        return HttpResponseRedirect(f"{request.path}?{urlencode(query)}" if query else request.path)


def looks_like_id_number(term: str) -> bool:
    return sum(character.isdigit() for character in term) >= 6


def looks_like_resident_id(term: str) -> bool:
    """18 characters, the first 17 digits: meant as a resident ID number, valid or not."""
    text = term.strip()
    return len(text) == 18 and text[:17].isdigit()


class PersonColumnsAdmin(admin.ModelAdmin):
    """The person's name and masked ID number as columns, for records that belong to a person."""

    @admin.display(description=_("姓名"), ordering="person__name")
    def person_name(self, obj):
        return obj.person.name

    @admin.display(description=_("身份证号"))
    def person_id_masked(self, obj):
        return obj.person.id_masked
