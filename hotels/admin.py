"""The front desk's admin, in Chinese: register a guest with their tests, see current guests and
their status, check guests out; the health authority reads every hotel's test results.

Every write goes through hotels.services; every queryset comes from hotels.selectors, so a front
desk sees and changes its own hotel's records only, on every page and in every action.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from health.admin_actions import RecordActionAdmin
from health.admin_base import HashedIdSearchAdmin, OrganisationScopedAdmin, PersonColumnsAdmin
from health.admin_status import AuditedStatusAdmin, status_filter
from health.display import beijing_time
from health.document_forms import DocumentFormFields
from health.errors import ApplicationError
from health.explanations import status_cell_html, status_evidence, status_summary
from health.identity import name_normalise
from health.models import HealthStatus, Organisation, Person, Region
from health.selectors import user_is_admin, user_organisation
from health.services.persons import person_registered, same_name
from health.services.statuses import policy_current
from health.status_reads import Screen, statuses_for_staff
from hotels import selectors, services
from hotels.models import CheckIn, Hotel, NucleicAcidTest

# The reasons whose facts a desk is told of: those of the guest's stay.
DESK_REASONS = ("hotel_stay", "hotel_requirements_unmet")


def status_message(person: Person, health_status: HealthStatus) -> str:
    """The desk's answer after a registration or checkout: the status and why, naming the fact that decided.

    Only the facts of the guest's stay are named (the origin, the hotel's region, the tests): other
    organisations' records are theirs to describe.
    """
    policy = policy_current()
    evidence = [
        item for item in status_evidence(person.pk, health_status, policy=policy) if item.reason in DESK_REASONS
    ]
    return gettext("%(name)s（%(id)s）健康状态：%(summary)s") % {
        "name": person.name,
        "id": person.id_masked,
        "summary": status_summary(health_status, evidence, policy=policy),
    }


def _region_autocomplete_usable(request) -> bool:
    """Whether the region list can be searched: the core's RegionAdmin is registered with
    search_fields and lets this caller read regions (the autocomplete view checks both)."""
    region_admin = admin.site._registry.get(Region)
    return bool(region_admin and region_admin.search_fields and region_admin.has_view_permission(request))


# --- hotels (administrators only) ------------------------------------------------------------
class HotelAdminForm(forms.ModelForm):
    class Meta:
        model = Hotel
        fields = ["code", "name", "region"]

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if self.instance.pk is None and Organisation.objects.filter(kind=Organisation.Kind.HOTEL, code=code).exists():
            raise ValidationError(_("该编码的酒店已存在。"))
        return code

    def clean_region(self):
        region = self.cleaned_data.get("region")
        if region is None:
            raise ValidationError(_("请选择酒店所在区划。"))
        return region


@admin.register(Hotel)
class HotelAdmin(OrganisationScopedAdmin):
    organisation_kinds = ()  # administrators only
    organisation_field = None
    form = HotelAdminForm
    list_display = ["code", "name", "region"]
    search_fields = ["code", "name"]
    list_select_related = ["region"]

    def get_queryset(self, request):
        return selectors.hotels_visible_to(request.user)

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj is not None else []

    def get_autocomplete_fields(self, request):
        return ["region"] if _region_autocomplete_usable(request) else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region":
            kwargs["queryset"] = Region.objects.filter(is_current=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.hotel_update(actor=request.user, hotel=obj, name=data["name"], region_code=data["region"].code)
        else:
            hotel = services.hotel_create(
                actor=request.user, code=data["code"], name=data["name"], region_code=data["region"].code
            )
            obj.pk = hotel.pk
            obj.kind = hotel.kind
            obj._state.adding = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # guests' stays point at hotels; a hotel is never removed from the records


# --- check-ins ---------------------------------------------------------------------------------
class PastDateTimeFormField(forms.SplitDateTimeField):
    def clean(self, value):
        moment = super().clean(value)
        if moment is not None and (errors := services.past_time_errors(moment, now=timezone.now())):
            raise ValidationError(errors)
        return moment


class CheckInRegistrationForm(DocumentFormFields, forms.ModelForm):
    """The front desk's registration: who (by any identity document), when, from where, with which tests."""

    person_name = forms.CharField(label=_("姓名"), max_length=64)
    # Set by CheckInAdmin.get_form: the desk's own hotel (None for an administrator, who picks one).
    desk_hotel: Organisation | None = None

    class Meta:
        model = CheckIn
        fields = ["hotel", "checked_in_at", "origin_region", "health_management_accepted"]
        field_classes = {"checked_in_at": PastDateTimeFormField}

    def clean_person_name(self):
        return name_normalise(self.cleaned_data["person_name"])

    def clean(self):
        cleaned = super().clean()
        self.clean_document(cleaned)
        name, number = cleaned.get("person_name"), cleaned.get("id_number")
        if not (name and number):
            return cleaned
        person, registered = person_registered(number)
        if person is None:
            return cleaned
        if not same_name(registered, name):
            self.add_error("person_name", _("该身份证号码已登记为另一姓名，请核对。"))
            return cleaned
        hotel = self.desk_hotel or cleaned.get("hotel")
        if hotel is not None and CheckIn.objects.filter(person=person, hotel=hotel, checked_out_at__isnull=True).exists():
            raise ValidationError(_("该客人在本酒店已有未离店的入住登记，请先办理离店。"))
        return cleaned


class NatTestInlineForm(forms.ModelForm):
    class Meta:
        model = NucleicAcidTest
        fields = ["sampled_at", "result", "source"]
        field_classes = {"sampled_at": PastDateTimeFormField}


class NatTestInline(admin.TabularInline):
    """Tests on the registration form: existing ones are read-only, new ones can be added."""

    model = NucleicAcidTest
    form = NatTestInlineForm
    fk_name = "checkin"
    fields = ["sampled_at", "result", "source"]
    extra = 1
    can_delete = False
    verbose_name = _("核酸检测")
    verbose_name_plural = _("核酸检测（自带7日内证明或在酒店检测）")

    def _allowed(self, request) -> bool:
        return self.admin_site._registry[CheckIn].allowed(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a recorded result is corrected by adding another, never by editing

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StayFilter(admin.SimpleListFilter):
    """Current guests by default: that is the list a front desk works from."""

    title = _("住店状态")
    parameter_name = "stay"

    def lookups(self, request, model_admin):
        return [("current", _("在住")), ("left", _("已离店")), ("all", _("全部"))]

    def value(self):
        return super().value() or "current"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "current":
            return queryset.filter(checked_out_at__isnull=True)
        if self.value() == "left":
            return queryset.filter(checked_out_at__isnull=False)
        return queryset


@admin.register(CheckIn)
class CheckInAdmin(AuditedStatusAdmin, RecordActionAdmin, PersonColumnsAdmin, HashedIdSearchAdmin, OrganisationScopedAdmin):
    organisation_kinds = (Organisation.Kind.HOTEL,)
    status_columns = ("guest_status",)
    organisation_field = "hotel"
    list_headers = {"health_management_accepted": _("健康管理")}
    inlines = [NatTestInline]
    list_filter = [StayFilter, status_filter("person__health_status__status"), "health_management_accepted", "checked_in_at"]
    # Searching by name only: an ID number typed into the search box would stand in the URL.
    search_fields = ["person__name"]
    search_help_text = _("按姓名，或完整的18位身份证号（按摘要查找，号码不会出现在网址中）")
    date_hierarchy = "checked_in_at"
    actions = ["checkout_action"]
    record_action = "checkout_action"
    list_per_page = 50
    ordering = ["-checked_in_at", "-pk"]

    CHANGE_FIELDS = [
        "person_name",
        "person_id_masked",
        "hotel",
        "checked_in_at",
        "checked_out_at",
        "origin_region",
        "health_management_accepted",
        "guest_status",
        "created_by",
        "created_at",
        "checked_out_by",
    ]

    def record_action_open(self, obj) -> bool:
        return obj.checked_out_at is None

    # --- querysets and permissions ---
    def get_queryset(self, request):
        return selectors.checkins_visible_to(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # stays are facts of a person's status; a checkout ends them, nothing deletes them

    # --- the list ---
    def get_list_display(self, request):
        # The status next to the name: on a small screen the right-hand columns scroll out of view.
        columns = ["person_name", "guest_status", "person_id_masked", "checked_in_at", "origin_region"]
        columns += ["health_management_accepted", "checked_out_at"]
        if self.is_admin(request):
            columns.insert(3, "hotel")
        return columns

    def status_visible(self, request, obj) -> bool:
        # A hotel sees a guest's status while the guest is checked in (and in the checkout's answer), not after.
        return obj.checked_out_at is None

    def status_filterable(self, request, queryset):
        return queryset.filter(checked_out_at__isnull=True)  # a departed guest's status is not filtered on either

    @admin.display(description=_("健康状态"), ordering="person__health_status__status")
    def guest_status(self, obj):
        health_status = self.shown_status(obj)
        if health_status is None:
            return _("已离店") if obj.checked_out_at is not None else "—"
        return status_cell_html(health_status)

    # --- the forms ---
    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return [(None, {"fields": self.CHANGE_FIELDS})]
        fields = ["person_name", "document_type", "id_number", "nationality", "birth_date"]
        if self.is_admin(request):
            fields.append("hotel")
        fields += ["checked_in_at", "origin_region", "health_management_accepted"]
        return [(_("客人"), {"fields": fields})]

    def get_readonly_fields(self, request, obj=None):
        return self.CHANGE_FIELDS if obj is not None else []

    def get_autocomplete_fields(self, request):
        return ["origin_region"] if _region_autocomplete_usable(request) else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = CheckInRegistrationForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            form.desk_hotel = None if self.is_admin(request) else self.member_organisation(request)
        return form

    def get_changeform_initial_data(self, request):
        return {"checked_in_at": timezone.localtime().replace(second=0, microsecond=0)}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "origin_region":
            kwargs["queryset"] = Region.objects.filter(is_current=True).order_by("code")
        if db_field.name == "hotel":
            kwargs["queryset"] = Hotel.objects.order_by("code")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- saving: through the services, with the inline tests in the same call ---
    def save_model(self, request, obj, form, change):
        """Nothing here: the registration needs the inline tests, which save_related receives."""

    def save_related(self, request, form, formsets, change):
        new_tests = []
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for test_form in formset.forms:
                if test_form.instance._state.adding and test_form.has_changed():
                    new_tests.append((formset, {key: test_form.cleaned_data[key] for key in ("sampled_at", "result", "source")}))
        if change:
            for formset, test in new_tests:
                formset.new_objects.append(services.nat_test_add(actor=request.user, checkin=form.instance, **test))
            return
        data = form.cleaned_data
        checkin = services.checkin_register(
            actor=request.user,
            hotel=form.desk_hotel or data["hotel"],
            person_name=data["person_name"],
            id_number=data["id_number"],
            checked_in_at=data["checked_in_at"],
            origin_region_code=data["origin_region"].code,
            health_management_accepted=data["health_management_accepted"],
            nat_tests=[test for _formset, test in new_tests],
        )
        # The admin logs and redirects with the object it built from the form: make it the saved one.
        for field in CheckIn._meta.concrete_fields:
            setattr(form.instance, field.attname, getattr(checkin, field.attname))
        form.instance._state.adding = False
        form.instance._state.db = checkin._state.db

    def _message_status(self, request, checkin: CheckIn) -> None:
        # The admin view is one transaction: recompute now so the desk sees the answer at once (on record).
        health_status = self.message_status(request, checkin)
        if health_status is None:
            return  # a guest who has left: the desk no longer sees their status
        level = messages.SUCCESS if health_status.status == HealthStatus.Code.NO_ABNORMALITY else messages.WARNING
        self.message_user(request, status_message(checkin.person, health_status), level)

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        self._message_status(request, CheckIn.objects.select_related("person").get(pk=obj.pk))
        return response

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        self._message_status(request, obj)
        return response

    # --- checkout ---
    @admin.action(description=_("办理离店"), permissions=["change"])
    def checkout_action(self, request, queryset):
        open_stays = list(queryset.filter(checked_out_at__isnull=True).select_related("person"))
        already_left = list(queryset.filter(checked_out_at__isnull=False).select_related("person"))
        if request.POST.get("confirm") == "yes":
            if not open_stays:
                self.message_user(request, gettext("所选客人均已离店，未做任何更改。"), messages.WARNING)
                return None
            try:
                done = services.checkouts(actor=request.user, checkins=open_stays)
            except ApplicationError:
                # Another desk checked one of them out between this page and the confirmation.
                left = CheckIn.objects.filter(
                    pk__in=[checkin.pk for checkin in open_stays], checked_out_at__isnull=False
                ).select_related("person", "checked_out_by")
                if not left:
                    raise
                self.message_user(
                    request,
                    gettext("办理离店未完成：以下客人刚刚已由他人办理离店：%(guests)s。所选客人均未做更改，请核对列表后重试。")
                    % {
                        "guests": "、".join(
                            gettext("%(name)s（%(id)s，离店时间 %(at)s，经办人 %(by)s）")
                            % {
                                "name": checkin.person.name,
                                "id": checkin.person.id_masked,
                                "at": beijing_time(checkin.checked_out_at),
                                "by": checkin.checked_out_by.get_username() if checkin.checked_out_by else "—",
                            }
                            for checkin in left
                        )
                    },
                    messages.ERROR,
                )
                return None
            self.message_user(request, gettext("已为 %(count)s 位客人办理离店。") % {"count": len(done)}, messages.SUCCESS)
            answers = statuses_for_staff(
                user=request.user,
                person_ids=[checkin.person_id for checkin in done],
                screen=Screen.admin_of(CheckIn, "离店后提示"),
                fresh=True,
            )
            for checkin in done:
                health_status = answers[checkin.person_id]
                level = messages.INFO if health_status.status == HealthStatus.Code.NO_ABNORMALITY else messages.WARNING
                self.message_user(request, status_message(checkin.person, health_status), level)
            # The trip after a stay is declared by the guest: the desk is the last to see them.
            self.message_user(request, gettext("请提醒客人申报行程。"), messages.INFO)
            if already_left:
                names = "、".join(checkin.person.name for checkin in already_left)
                self.message_user(request, gettext("以下客人此前已离店，未做更改：%(names)s") % {"names": names}, messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("确认办理离店"),
            "opts": self.model._meta,
            "open_stays": open_stays,
            "already_left": already_left,
            "now": timezone.localtime(),
            "action_name": "checkout_action",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected": [checkin.pk for checkin in open_stays + already_left],
            "media": self.media,
        }
        return TemplateResponse(request, "admin/hotels/checkin/checkout_confirmation.html", context)


# --- tests: read-only lists for desks and for the health authority ---------------------------
class PositiveFilter(admin.SimpleListFilter):
    """Positive results, for the health authority's review (R3 flags the person)."""

    title = _("阳性")
    parameter_name = "positive"

    def lookups(self, request, model_admin):
        return [("yes", _("阳性结果")), ("review", _("阳性且待卫健部门复核"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(result=NucleicAcidTest.Result.POSITIVE)
        if self.value() == "review":
            return queryset.filter(result=NucleicAcidTest.Result.POSITIVE, person__health_status__needs_review=True)
        return queryset


@admin.register(NucleicAcidTest)
class NucleicAcidTestAdmin(AuditedStatusAdmin, PersonColumnsAdmin, HashedIdSearchAdmin, OrganisationScopedAdmin):
    organisation_kinds = (Organisation.Kind.HOTEL, Organisation.Kind.HEALTH)
    # Whether the guest awaits review is part of their stored decision: read like the status.
    status_columns = ("needs_review",)
    organisation_field = "hotel"
    member_can_add = False
    member_can_change = False
    list_display = ["person_name", "person_id_masked", "hotel", "sampled_at", "result", "source", "recorded_at", "needs_review"]
    search_fields = ["person__name"]
    date_hierarchy = "sampled_at"
    ordering = ["-sampled_at", "-pk"]

    def get_queryset(self, request):
        return selectors.nat_tests_visible_to(request.user)

    def owns(self, request, obj) -> bool:
        return selectors.nat_tests_visible_to(request.user).filter(pk=obj.pk).exists()

    def get_list_filter(self, request):
        organisation = user_organisation(request.user)
        reviewer = user_is_admin(request.user) or (organisation is not None and organisation.kind == Organisation.Kind.HEALTH)
        return [PositiveFilter, "source", "sampled_at"] if reviewer else ["source", "sampled_at"]

    def has_add_permission(self, request) -> bool:
        return False  # recorded with the stay, on the registration form or through the API

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def status_visible(self, request, obj) -> bool:
        # A desk sees the flag while the guest is checked in; the health authority and administrators always.
        organisation = user_organisation(request.user)
        if organisation is None or organisation.kind != Organisation.Kind.HOTEL:
            return True
        return obj.checkin_id is None or obj.checkin.checked_out_at is None

    @admin.display(description=_("需卫健部门复核"), boolean=True)
    def needs_review(self, obj):
        health_status = self.shown_status(obj)
        return None if health_status is None else health_status.needs_review
