"""Admin of inbound cases (Chinese): border staff see every case, community workers the cases they manage."""


from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from entrants import services
from entrants.countries import country_from_text, country_name, country_options
from entrants.models import InboundCase
from entrants.ports import port_choices
from entrants.selectors import inbound_cases_awaiting_release, inbound_cases_late, inbound_cases_visible_to
from health.admin_actions import RecordActionAdmin
from health.admin_base import HashedIdSearchAdmin, OrganisationScopedAdmin, PersonColumnsAdmin
from health.admin_status import AuditedStatusAdmin
from health.document_forms import DocumentFormFields
from health.errors import ApplicationError
from health.explanations import reasons_labels, status_cell_html
from health.forms import TimeBoundsForm
from health.identity import name_normalise
from health.models import Organisation
from health.services.persons import person_registered, same_name
from health.services.statuses import policy_current


class CountryInput(forms.TextInput):
    """A text box with the countries as suggestions: typing 法 or FR narrows the list (no script needed)."""

    def __init__(self, attrs=None) -> None:
        super().__init__({"list": "country-options", "autocomplete": "off", "placeholder": _("输入中文名称或代码，如 法国、FR"), **(attrs or {})})

    def render(self, name, value, attrs=None, renderer=None):
        options = format_html_join("", '<option value="{}"></option>', ((label,) for _code, label in country_options()))
        return format_html('{}<datalist id="country-options">{}</datalist>', super().render(name, value, attrs, renderer), options)


class InboundCaseForm(DocumentFormFields, TimeBoundsForm, forms.ModelForm):
    """Adding names the person (name and ID number, never stored in clear); changing edits the three later facts."""

    past_times = ("quarantine_ended_at",)
    past_dates = ("entered_country_on", "entered_city_on")

    person_name = forms.CharField(label=_("姓名"), max_length=64, required=False)
    origin_country = forms.CharField(label=_("出发国家或地区"), required=False, widget=CountryInput())
    port_of_entry = forms.ChoiceField(label=_("入境口岸"), choices=port_choices)

    class Meta:
        model = InboundCase
        fields = [
            "entered_country_on",
            "port_of_entry",
            "origin_country",
            "quarantine_ended_at",
            "entered_city_on",
            "managing_community",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "port_of_entry" in self.fields:
            self.fields["port_of_entry"].choices = port_choices(self.instance.port_of_entry if self.instance.pk else None)

    def clean_id_number(self):
        if self.instance.pk is not None:
            return None
        return self.cleaned_data.get("id_number")

    def clean_person_name(self):
        name = name_normalise(self.cleaned_data.get("person_name") or "")
        if self.instance.pk is None and not name:
            raise ValidationError(_("请填写姓名。"))
        return name

    def clean_origin_country(self):
        value = self.cleaned_data.get("origin_country")
        if self.instance.pk is not None:
            return self.instance.origin_country
        return country_from_text(value)

    def clean(self):
        data = super().clean()
        self.clean_document(data)
        instance = self.instance
        entered = data.get("entered_country_on", instance.entered_country_on if instance.pk else None)
        if entered is not None:
            for field, messages_ in services.case_dates_errors(
                entered_country_on=entered,
                quarantine_ended_at=data.get("quarantine_ended_at"),
                entered_city_on=data.get("entered_city_on"),
            ).items():
                if field not in self.errors:
                    self.add_error(field, messages_)
        community = data.get("managing_community")
        if instance.pk is not None and instance.released_at is not None and community != instance.managing_community:
            self.add_error("managing_community", _("已解除观察的入境人员不能变更管理社区。"))
        if instance.pk is None and data.get("id_number") and entered is not None:
            person, registered = person_registered(data["id_number"])
            if person is not None and not same_name(registered, data.get("person_name")):
                self.add_error("person_name", _("该身份证号码已登记为另一姓名。"))
            elif person is not None and InboundCase.objects.filter(person=person, entered_country_on=entered).exists():
                self.add_error("entered_country_on", _("该人员该日的入境记录已存在，请修改原记录。"))
        return data

    def _post_clean(self):
        # Fill the instance (the admin logs and redirects with it) but leave validation and the
        # write to the services, which check what the model's full_clean would and more.
        try:
            self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        except ValidationError as error:
            self._update_errors(error)


class AwaitingReleaseFilter(admin.SimpleListFilter):
    title = _("待社区解除")
    parameter_name = "awaiting_release"

    def lookups(self, request, model_admin):
        return [("yes", _("待解除")), ("no", _("已解除或无需社区解除"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return inbound_cases_awaiting_release(queryset)
        if self.value() == "no":
            return queryset.exclude(pk__in=inbound_cases_awaiting_release(queryset).values("pk"))
        return queryset


class LateArrivalFilter(admin.SimpleListFilter):
    """Not under a community, and came to Beijing later than the grace days after quarantine ended."""

    title = _("解除隔离后逾期进京")
    parameter_name = "late_arrival"

    def lookups(self, request, model_admin):
        return [("yes", _("逾期进京")), ("no", _("未逾期"))]

    def queryset(self, request, queryset):
        if self.value() not in ("yes", "no"):
            return queryset
        late = inbound_cases_late(queryset, grace_days=policy_current().inbound_arrival_grace_days)
        if self.value() == "yes":
            return late
        return queryset.exclude(pk__in=late.values("pk"))


class CommunityManagedFilter(admin.SimpleListFilter):
    title = _("社区管理")
    parameter_name = "community_managed"

    def lookups(self, request, model_admin):
        return [("yes", _("由社区管理")), ("no", _("未交社区管理"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(managing_community__isnull=False)
        if self.value() == "no":
            return queryset.filter(managing_community__isnull=True)
        return queryset


@admin.register(InboundCase)
class InboundCaseAdmin(AuditedStatusAdmin, RecordActionAdmin, PersonColumnsAdmin, HashedIdSearchAdmin, OrganisationScopedAdmin):
    # A save's message says the person's resulting status in words (AuditedStatusAdmin).
    status_message_after_save = True
    status_columns = ("person_status",)
    organisation_kinds = (Organisation.Kind.BORDER, Organisation.Kind.COMMUNITY)
    organisation_field = "managing_community"
    form = InboundCaseForm
    # The status next to the name: at 1366 px the right-hand columns are the first to scroll away.
    list_headers = {"quarantine_ended_at": _("隔离结束"), "entered_city_on": _("进京"), "released_at": _("解除观察")}
    list_display = (
        "person_name",
        "person_status",
        "person_id_masked",
        "entered_country_on",
        "port_of_entry",
        "origin_country_name",
        "quarantine_ended_at",
        "entered_city_on",
        "managing_community",
        "released_at",
    )
    list_filter = (AwaitingReleaseFilter, LateArrivalFilter, CommunityManagedFilter, "entered_country_on")
    search_fields = ("person__name",)
    search_help_text = _("按姓名或完整身份证号查找")
    date_hierarchy = "entered_country_on"
    actions = ["release_selected"]
    record_action = "release_selected"
    list_per_page = 50

    def record_action_open(self, obj) -> bool:
        return obj.managing_community_id is not None and obj.released_at is None

    # --- access: border sees every case, a community the cases it manages ------------------
    def get_queryset(self, request):
        queryset = inbound_cases_visible_to(request.user).select_related(
            "person__health_status", "managing_community", "border", "released_by"
        )
        return queryset.order_by(*(self.get_ordering(request) or InboundCase._meta.ordering))

    def owns(self, request, obj) -> bool:
        if self.is_admin(request):
            return True
        organisation = self.member_organisation(request)
        if organisation is None:
            return False
        if organisation.kind == Organisation.Kind.BORDER:
            return True
        return obj.managing_community_id == organisation.pk

    def _is_border(self, request) -> bool:
        organisation = self.member_organisation(request)
        return organisation is not None and organisation.kind == Organisation.Kind.BORDER

    def has_add_permission(self, request) -> bool:
        return self.allowed(request) and (self.is_admin(request) or self._is_border(request))

    def has_change_permission(self, request, obj=None) -> bool:
        # Community workers read their cases and release them (an action); border control edits.
        if not self.allowed(request) or not (self.is_admin(request) or self._is_border(request)):
            return False
        return obj is None or self.owns(request, obj)

    def has_release_permission(self, request) -> bool:
        organisation = self.member_organisation(request)
        return self.allowed(request) and (
            self.is_admin(request) or (organisation is not None and organisation.kind == Organisation.Kind.COMMUNITY)
        )

    # --- pages -------------------------------------------------------------------------------
    def get_fields(self, request, obj=None):
        if obj is None:
            return ["person_name", "document_type", "id_number", "nationality", "birth_date", *InboundCaseForm.Meta.fields]
        return [
            "person_name_display",
            "person_id_masked",
            "person_status",
            "person_reasons",
            "entered_country_on",
            "port_of_entry",
            "origin_country_name",
            "quarantine_ended_at",
            "entered_city_on",
            "managing_community",
            "border",
            "released_at",
            "released_by",
            "created_by",
            "created_at",
            "updated_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        readonly = [
            "person_name_display",
            "person_id_masked",
            "person_status",
            "person_reasons",
            "entered_country_on",
            "port_of_entry",
            "origin_country_name",
            "border",
            "released_at",
            "released_by",
            "created_by",
            "created_at",
            "updated_at",
        ]
        if not self.has_change_permission(request, obj):
            readonly += ["quarantine_ended_at", "entered_city_on", "managing_community"]
        return readonly

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            community = data.get("managing_community")
            case = services.inbound_register(
                actor=request.user,
                person_name=data["person_name"],
                id_number=data["id_number"],
                entered_country_on=data["entered_country_on"],
                port=data["port_of_entry"],
                origin_country=data["origin_country"],
                community_code=community.code if community else None,
                quarantine_ended_at=data.get("quarantine_ended_at"),
                entered_city_on=data.get("entered_city_on"),
            )
            obj.pk = case.pk
            obj.person = case.person
            obj.border = case.border
            obj.origin_country = case.origin_country
            return
        changes = {}
        for field in ("quarantine_ended_at", "entered_city_on"):
            if field in form.changed_data:
                changes[field] = data.get(field)
        if "managing_community" in form.changed_data:
            community = data.get("managing_community")
            changes["community_code"] = community.code if community else None
        if changes:
            services.inbound_update(actor=request.user, case=obj, **changes)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.is_admin(request)  # a case registered by mistake; through the service, which recomputes

    def delete_model(self, request, obj):
        services.inbound_cases_delete(actor=request.user, cases_or_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        services.inbound_cases_delete(actor=request.user, cases_or_ids=list(queryset.values_list("pk", flat=True)))

    # --- read-only columns -------------------------------------------------------------------
    @admin.display(description=_("姓名"))
    def person_name_display(self, case):
        return case.person.name

    @admin.display(description=_("出发国家或地区"), ordering="origin_country")
    def origin_country_name(self, case):
        return f"{case.origin_country} {country_name(case.origin_country)}"

    @admin.display(description=_("健康状态"))
    def person_status(self, case):
        return status_cell_html(self.shown_status(case))

    @admin.display(description=_("原因"))
    def person_reasons(self, case):
        status = self.shown_status(case)
        if status is None or status.computed_at is None:
            return _("待计算")
        return reasons_labels(status.reasons) or "—"

    # --- the community's release ---------------------------------------------------------------
    @admin.action(description=_("解除观察"), permissions=["release"])
    def release_selected(self, request, queryset):
        cases = list(queryset.select_related("person", "managing_community"))
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("确认解除观察"),
                "opts": self.model._meta,
                "cases": cases,
                "releasable": [c for c in cases if c.managing_community_id and c.released_at is None],
                "skipped": [c for c in cases if not c.managing_community_id or c.released_at is not None],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "action": "release_selected",
            }
            return TemplateResponse(request, "admin/entrants/inboundcase/release_confirmation.html", context)
        released = []
        for case in cases:
            try:
                services.inbound_release(actor=request.user, case=case)
            except (ApplicationError, ValidationError) as error:
                message = getattr(error, "message", None) or "；".join(getattr(error, "messages", [str(error)]))
                self.message_user(request, f"{case.person.name} {case.person.id_masked}：{message}", messages.WARNING)
            else:
                released.append(case)
        if released:
            self.message_user(
                request,
                _("已解除观察 %(count)d 人，其在本社区的隔离已同时解除。") % {"count": len(released)},
                messages.SUCCESS,
            )
            self.message_statuses(request, released, what="解除观察后提示")
        return None

