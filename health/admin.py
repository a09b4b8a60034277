"""Admin of the core app (Chinese): persons (masked, audited status), regions, risk areas, designations,
itineraries, policy versions, status history and access log, organisations and staff.

Access goes by membership (OrganisationScopedAdmin): administrators see everything, the health
department its records and every person, other staff only the persons their organisation holds
records of (selectors.persons_visible_to). Every write goes through a service.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from knox.models import AuthToken
from rest_framework_api_key.models import APIKey

from health import impact, retention
from health.admin_base import HashedIdSearchAdmin, OrganisationScopedAdmin, PersonColumnsAdmin, ReadOnlyAdmin
from health.admin_merge import merge_selected
from health.admin_preview import ImpactPreviewAdmin
from health.admin_status import AuditedStatusAdmin, impact_words, status_filter
from health.auth import MACHINE_KEY_SCOPES
from health.display import beijing_time
from health.document_forms import DocumentFormFields
from health.errors import ApplicationError, PersonConflict
from health.explanations import CAUSES, cause_label, reasons_labels, reasons_sentence, status_cell_html
from health.forms import IdNumberInput, TimeBoundsForm
from health.identity import document_label, name_normalise
from health.models import (
    WITHDRAWAL_REASON_MAX,
    Designation,
    HealthStatus,
    ItineraryDeclaration,
    ItineraryStay,
    MachineKey,
    Organisation,
    Person,
    PersonNameCorrection,
    Policy,
    Region,
    RiskArea,
    StaffMembership,
    StatusAccess,
    StatusCorrectionRequest,
    StatusEvent,
)
from health.passes.staff import last_pass_shown
from health.selectors import persons_visible_to, policy_timeline, user_organisation
from health.services import corrections, designations, policy, risk_areas, staff, tokens
from health.services.merge import may_merge
from health.services.persons import person_find, person_name_correct, person_registered, same_name
from health.services.statuses import policy_current
from health.status_reads import ADMINISTRATOR, Channel, channel_words

# The libraries' own admins: knox's would add tokens past the token endpoint, and the key library's
# table is unused (systems have health.MachineKey). Both are replaced below.
for _library_model in (AuthToken, APIKey):
    if admin.site.is_registered(_library_model):
        admin.site.unregister(_library_model)

ALL_KINDS = tuple(Organisation.Kind.values)
HEALTH = (Organisation.Kind.HEALTH,)


def organisation_kind_words(kind: str) -> str:
    """A stored kind of organisation (a code, kept as a snapshot) in words; 管理员 for an administrator."""
    if kind == ADMINISTRATOR:
        return str(_("管理员"))
    return str(Organisation.Kind(kind).label) if kind in Organisation.Kind.values else (kind or "—")


def organisation_kind_filter(field: str, title, *, administrator: bool = True):
    """A list filter on a column that stores a kind of organisation as a code: the choices in words
    (every kind, not a DISTINCT over the column: the access log is the largest table staff filter)."""

    class KindFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request, model_admin):
            return [(ADMINISTRATOR, _("管理员"))] * administrator + Organisation.Kind.choices

        def queryset(self, request, queryset):
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    KindFilter.title = title
    return KindFilter


def status_label(code: str) -> str:
    return str(HealthStatus.Code(code).label) if code in HealthStatus.Code.values else (code or "—")


class ScopedReadOnlyAdmin(ReadOnlyAdmin, OrganisationScopedAdmin):
    """Append-only or reference records: visible by membership, never added, changed or deleted here."""

    organisation_field = None


# --- persons -------------------------------------------------------------------------------------
@admin.register(Person)
class PersonAdmin(AuditedStatusAdmin, HashedIdSearchAdmin, OrganisationScopedAdmin):
    """Persons by name and masked number; the status shows on the (audited) detail page only.

    A status column on the list is read like every other (health.admin_status): name it in `status_columns`.
    """

    status_person_attribute = "pk"

    organisation_kinds = ALL_KINDS
    organisation_field = None
    id_digest_lookup = "id_digest"
    list_display = ("name", "stored_status", "document_display", "id_masked", "created_at")
    list_filter = (status_filter("health_status__status"),)
    # Two persons who are one (a passport and a resident ID): health.admin_merge.
    actions = [merge_selected]
    search_fields = ("name",)
    search_help_text = _("输入姓名，或完整的18位身份证号（按摘要查找，号码不会出现在网址中）。")
    # The status, its reasons, valid_until and computed_at are on the explanation above the fields.
    fields = ("name", "document_display", "id_masked", "created_at")
    readonly_fields = fields
    # The history is on the page's explanation (health.explanations), with the reasons in words.

    def get_queryset(self, request):
        return persons_visible_to(request.user).select_related("health_status")

    def has_view_permission(self, request, obj=None) -> bool:
        if not self.allowed(request):
            return False
        return obj is None or persons_visible_to(request.user).filter(pk=obj.pk).exists()

    status_columns = ("stored_status",)

    def status_listed(self, request) -> bool:
        # A hotel sees a guest's status while the guest stays (its check-in list), not its former
        # guests' afterwards: the person list shows it no status, nor filters by one.
        organisation = user_organisation(request.user)
        return organisation is None or organisation.kind != Organisation.Kind.HOTEL

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        return columns if self.status_listed(request) else [c for c in columns if c not in self.status_columns]

    def get_list_filter(self, request):
        return super().get_list_filter(request) if self.status_listed(request) else ()

    @staticmethod
    def status_pending(person) -> bool:
        stored = getattr(person, "health_status", None)  # select_related: whether a decision exists yet
        return stored is None or stored.computed_at is None

    def status_listed_row(self, request, obj) -> bool:
        # A person not decided yet has no status to show (the cell says 待计算): nothing is read or logged.
        return not self.status_pending(obj) and super().status_listed_row(request, obj)

    @admin.display(description=_("健康状态"), ordering="health_status__status")
    def stored_status(self, obj):
        status = self.shown_status(obj)  # the page's audited read (one insert)
        if status is None and self.status_pending(obj):
            return _("待计算")
        return "—" if status is None else status_cell_html(status)

    def has_add_permission(self, request) -> bool:
        return False  # persons come with their records (services), never on their own

    def has_merge_permission(self, request) -> bool:
        return self.allowed(request) and may_merge(request.user)

    @admin.display(description=_("证件"))
    def document_display(self, obj):
        return document_label(obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    change_form_template = "admin/health/person/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        person = self.get_object(request, object_id)
        if person is not None and request.method == "GET" and self.has_view_permission(request, person):
            # The audited read: the access is on record before the status is shown.
            status = self.shown_status(person)  # the audited read: on record before it is shown
            person.health_status = status
            correction = self.admin_site._registry[PersonNameCorrection]
            organisation = user_organisation(request.user)
            health_department = organisation is not None and organisation.kind == Organisation.Kind.HEALTH
            extra_context = {
                **(extra_context or {}),
                "last_pass": last_pass_shown(person),
                "name_correction_url": (
                    f"{reverse('admin:health_personnamecorrection_add')}?person={person.pk}"
                    if correction.has_add_permission(request)
                    else None
                ),
                "explanation": self.explanation(
                    request, person, status, show_rule_ids=self.is_admin(request) or health_department
                ),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def explanation(self, request, person, status, *, show_rule_ids: bool):
        """The status explained with the records of every app: composed by the staff layer, which
        registers this page's subclass (staff/admin.py); the core alone shows the fields."""
        return None


class PersonNameCorrectionForm(forms.ModelForm):
    """Correct a name: the person (from their page, or by ID number: kept only as a digest, never shown
    back), the right name, why."""

    person = forms.ModelChoiceField(queryset=Person.objects.all(), required=False, widget=forms.HiddenInput())
    id_number = forms.CharField(
        label=_("身份证号"),
        max_length=32,
        required=False,
        widget=IdNumberInput(),
        help_text=_("从人员页面的“更正姓名”进入时无需填写。"),
    )

    class Meta:
        model = PersonNameCorrection
        fields = ["new_name", "reason"]

    def clean_id_number(self):
        raw = self.cleaned_data.get("id_number")
        if not raw:
            return None
        person = person_find(id_number=raw)
        if person is None:
            raise ValidationError(_("没有该身份证号的人员。"))
        self.person = person
        return None  # the number goes no further than this form

    def clean(self):
        cleaned = super().clean()
        if getattr(self, "person", None) is None and "id_number" not in self.errors:
            if cleaned.get("person") is None:
                self.add_error("id_number", _("请填写身份证号。"))
            else:
                self.person = cleaned["person"]
        person, name = getattr(self, "person", None), cleaned.get("new_name")
        if person is not None and name is not None and name_normalise(name) == person.name:
            self.add_error("new_name", _("新姓名与原姓名相同。"))
        return cleaned

    def _post_clean(self):
        # The service validates and writes the record (with the old name, who and when); nothing to build here.
        pass


@admin.register(PersonNameCorrection)
class PersonNameCorrectionAdmin(PersonColumnsAdmin, HashedIdSearchAdmin, OrganisationScopedAdmin):
    """更正姓名: an audited correction of a person's name by an administrator or the health authority.

    Adding a record is the action (the service writes it, renames the person and recomputes them);
    records are never changed or deleted.
    """

    organisation_kinds = HEALTH
    organisation_field = None
    form = PersonNameCorrectionForm
    list_display = ("person", "old_name", "new_name", "reason", "corrected_by", "corrected_at")
    list_select_related = ("person", "corrected_by")
    search_fields = ("person__name", "old_name", "new_name")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("person", "id_number", "new_name", "reason")
        return ("person", "old_name", "new_name", "reason", "corrected_by", "corrected_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.get_fields(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        saved = person_name_correct(
            actor=request.user,
            person=form.person,
            name=form.cleaned_data["new_name"],
            reason=form.cleaned_data["reason"],
        )
        obj.pk = saved.pk


# --- withdrawal (撤销) of risk areas and designations -----------------------------------------------
class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("撤销原因"),
        max_length=WITHDRAWAL_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("撤销视同该记录从未发布，所涉人员的健康状态将重新计算；记录本身连同撤销人、时间和原因一并保留。"),
    )


class WithdrawableAdmin(admin.ModelAdmin):
    """The withdraw action (with a confirmation page and a reason) and the withdrawal on the record's page.

    A withdrawn record is shown as it was withdrawn and no longer changed.
    """

    withdrawal_fields = ("withdrawn_at", "withdrawn_by", "withdrawal_reason")
    actions = ["withdraw_selected"]

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.withdrawn_at is not None:
            return False
        return super().has_change_permission(request, obj)

    def get_list_display(self, request):
        return (*super().get_list_display(request), "withdrawn_at")

    def get_list_filter(self, request):
        return (*super().get_list_filter(request), WithdrawnFilter)

    def get_fields(self, request, obj=None):
        # A withdrawn record has no change permission: every field, these too, is shown read-only.
        fields = tuple(super().get_fields(request, obj))
        if obj is not None and obj.withdrawn_at is not None:
            return (*fields, *self.withdrawal_fields)
        return fields

    @admin.action(description=_("撤销所选记录（误发布，视同从未发布）"), permissions=["change"])
    def withdraw_selected(self, request, queryset):
        standing = list(queryset.standing().order_by("pk"))
        form = WithdrawForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if standing and form.is_bound and form.is_valid():
            with transaction.atomic():
                for record in standing:
                    self.withdraw(request, record, form.cleaned_data["reason"])
            self.message_user(
                request,
                ngettext("已撤销 %(count)d 条记录，所涉人员的健康状态已重新计算。", "已撤销 %(count)d 条记录，所涉人员的健康状态已重新计算。", len(standing))
                % {"count": len(standing)},
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("确认撤销"),
            "opts": self.opts,
            "records": standing,
            "already_withdrawn": queryset.filter(withdrawn_at__isnull=False).count(),
            "form": form,
            "selected": list(queryset.values_list("pk", flat=True)),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/health/withdraw_confirmation.html", context)


class WithdrawnFilter(admin.SimpleListFilter):
    title = _("撤销")
    parameter_name = "withdrawn"

    def lookups(self, request, model_admin):
        return (("no", _("有效（未撤销）")), ("yes", _("已撤销")))

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(withdrawn_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(withdrawn_at__isnull=False)
        return queryset


# --- regions and risk areas ----------------------------------------------------------------------
@admin.register(Region)
class RegionAdmin(ScopedReadOnlyAdmin):
    organisation_kinds = ALL_KINDS
    list_display = ("code", "name", "full_name", "level", "is_current")
    list_filter = ("level", "is_current")
    search_fields = ("code", "name", "full_name")


class RiskAreaForm(TimeBoundsForm, forms.ModelForm):
    planned_times = ("effective_from", "effective_to")

    class Meta:
        model = RiskArea
        fields = ["region", "level", "effective_from", "effective_to"]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("effective_from"), cleaned.get("effective_to")
        if start and end and end <= start:
            self.add_error("effective_to", _("解除时间必须晚于生效时间。"))
        return cleaned


@admin.register(RiskArea)
class RiskAreaAdmin(WithdrawableAdmin, ImpactPreviewAdmin, OrganisationScopedAdmin):
    """Saved through the service after its impact preview: every change fans out to persons with a place in the region."""

    organisation_kinds = HEALTH
    organisation_field = None  # one health authority for the city: its staff see every designation
    form = RiskAreaForm
    list_display = ("region", "level", "effective_from", "effective_to", "created_by")
    list_filter = ("level",)
    search_fields = ("region__code", "region__name")
    autocomplete_fields = ("region",)
    list_select_related = ("region", "created_by")

    def get_readonly_fields(self, request, obj=None):
        return ("region",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a designation ends by its effective_to; history stays

    def save_model(self, request, obj, form, change):
        # What the save changes, from the engine on the facts as they stand just before it: told after.
        stored = RiskArea.objects.get(pk=obj.pk) if change else None
        request._risk_area_impact = self.impact_preview(request, form, stored)
        if change:
            saved = risk_areas.risk_area_update(
                actor=request.user,
                risk_area=obj,
                effective_to=obj.effective_to,
                level=obj.level,
                effective_from=obj.effective_from,
            )
        else:
            saved = risk_areas.risk_area_create(
                actor=request.user,
                region=obj.region,
                level=obj.level,
                effective_from=obj.effective_from,
                effective_to=obj.effective_to,
            )
        obj.pk = saved.pk

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        self._message_impact(request)
        return response

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        self._message_impact(request)
        return response

    def _message_impact(self, request) -> None:
        preview = getattr(request, "_risk_area_impact", None)
        if preview is not None:
            self.message_user(request, impact_words(preview), messages.WARNING if preview.changed else messages.INFO)

    def impact_preview(self, request, form, obj):
        data = form.cleaned_data
        return impact.risk_area_impact(
            region_code=obj.region_id if obj is not None else data["region"].code,
            level=data["level"],
            effective_from=data["effective_from"],
            effective_to=data.get("effective_to"),
            replacing=obj,
        )

    def withdraw(self, request, record, reason: str):
        return risk_areas.risk_area_withdraw(actor=request.user, risk_area=record, reason=reason)


# --- designations --------------------------------------------------------------------------------
class DesignationForm(DocumentFormFields, TimeBoundsForm, forms.ModelForm):
    """Adding names the person by name and ID number (kept only as a digest); changing corrects the times."""

    past_times = ("designated_at",)
    planned_times = ("cleared_at",)

    person_name = forms.CharField(label=_("姓名"), max_length=64, required=False)

    class Meta:
        model = Designation
        fields = ["kind", "designated_at", "cleared_at"]

    def clean_id_number(self):
        if self.instance.pk is not None:
            return None
        return self.cleaned_data.get("id_number")

    def clean_person_name(self):
        name = name_normalise(self.cleaned_data.get("person_name") or "")
        if self.instance.pk is None and not name:
            raise ValidationError(_("请填写姓名。"))
        return name

    def clean(self):
        cleaned = super().clean()
        self.clean_document(cleaned)
        start, end = cleaned.get("designated_at"), cleaned.get("cleared_at")
        if start and end and end < start:
            self.add_error("cleared_at", designations.CLEARED_BEFORE_DESIGNATED)
        number, name = cleaned.get("id_number"), cleaned.get("person_name")
        if self.instance.pk is None and number and name:
            known, registered = person_registered(number)
            if known is not None and not same_name(registered, name):
                self.add_error("person_name", PersonConflict.default_message)
        return cleaned

    def _post_clean(self):
        # Adding: there is no person yet (the service resolves it on save, and runs the model's
        # checks there), so the instance is not built from the form; save_model reads cleaned_data.
        if self.instance.pk is not None:
            super()._post_clean()


@admin.register(Designation)
class DesignationAdmin(AuditedStatusAdmin, WithdrawableAdmin, HashedIdSearchAdmin, OrganisationScopedAdmin):
    # A save's message says the person's resulting status in words (AuditedStatusAdmin).
    status_message_after_save = True
    organisation_kinds = HEALTH
    organisation_field = None
    form = DesignationForm
    list_display = ("person", "kind", "designated_at", "cleared_at", "created_by")
    list_filter = ("kind",)
    list_select_related = ("person", "created_by")
    search_fields = ("person__name",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("person_name", "document_type", "id_number", "nationality", "birth_date", "kind", "designated_at", "cleared_at")
        if obj.withdrawn_at is not None:
            return ("person", "kind", "designated_at", "cleared_at", *self.withdrawal_fields)
        return ("person", "kind", "designated_at", "cleared_at")

    def get_readonly_fields(self, request, obj=None):
        return ("person",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # clearing ends a designation; the record stays

    def save_model(self, request, obj, form, change):
        if change:
            saved = designations.designation_update(
                actor=request.user,
                designation=obj,
                kind=obj.kind,
                designated_at=obj.designated_at,
                cleared_at=obj.cleared_at,
            )
        else:
            saved = designations.designation_create(
                actor=request.user,
                name=form.cleaned_data["person_name"],
                id_number=form.cleaned_data["id_number"],
                kind=form.cleaned_data["kind"],
                designated_at=form.cleaned_data["designated_at"],
                cleared_at=form.cleaned_data.get("cleared_at"),
            )
        obj.pk, obj.person = saved.pk, saved.person

    def withdraw(self, request, record, reason: str):
        return designations.designation_withdraw(actor=request.user, designation=record, reason=reason)


# --- itineraries ---------------------------------------------------------------------------------
@admin.register(ItineraryStay)
class ItineraryStayAdmin(HashedIdSearchAdmin, ScopedReadOnlyAdmin):
    organisation_kinds = (Organisation.Kind.HEALTH, Organisation.Kind.PLATFORM)
    list_display = ("person", "region", "arrived_at", "left_at", "source_words", "received_at")
    list_filter = (organisation_kind_filter("source", _("来源"), administrator=False),)
    list_select_related = ("person", "region")
    search_fields = ("person__name", "region__code")

    def searched_as_text(self, term: str) -> bool:
        # A region code (six digits) is searched as the code it is, not as a document number.
        return len(term) == 6 and Region.objects.filter(code=term).exists()

    @admin.display(description=_("来源"), ordering="source")
    def source_words(self, obj):
        return organisation_kind_words(obj.source)


@admin.register(ItineraryDeclaration)
class ItineraryDeclarationAdmin(HashedIdSearchAdmin, ScopedReadOnlyAdmin):
    organisation_kinds = HEALTH
    list_display = ("person", "declared_at", "region_codes")
    list_select_related = ("person",)
    search_fields = ("person__name",)


# --- policy versions -----------------------------------------------------------------------------
class PolicyForm(forms.ModelForm):
    """The parameters of a new version; their bounds are the model's (health.models.POLICY_BOUNDS)."""

    eligible_provinces = forms.CharField(
        label=_("可通行省份"), help_text=_("省级代码前两位，以逗号分隔，如 11,12,13。")
    )
    effective_from = forms.DateTimeField(
        label=_("生效时间"),
        required=False,
        help_text=_("留空则发布后立即生效；填写将来的时间则届时自动生效，所有人员的健康状态在生效时重新计算。"),
    )

    class Meta:
        model = Policy
        fields = [
            "window_days",
            "min_stay_hours",
            "nat_valid_days",
            "inbound_observation_days",
            "inbound_arrival_grace_days",
            "eligible_provinces",
            "home_region",
            "effective_from",
            "comment",
        ]

    def clean_eligible_provinces(self):
        raw = self.cleaned_data["eligible_provinces"]
        if isinstance(raw, list):
            raw = ",".join(raw)
        codes = [part.strip() for part in str(raw).replace("，", ",").split(",") if part.strip()]
        if not codes or any(len(code) != 2 or not code.isdigit() for code in codes):
            raise ValidationError(_("请填写两位数字的省级代码，以逗号分隔。"))
        return sorted(set(codes))

    def clean_window_days(self):
        # The service refuses it too; here it is a message on the field rather than an error page.
        window_days = self.cleaned_data["window_days"]
        try:
            retention.window_days_check(window_days)
        except ValidationError as error:
            raise ValidationError(error.message_dict["window_days"]) from None
        return window_days

    def clean_effective_from(self):
        moment = self.cleaned_data.get("effective_from")
        if moment is None:
            return None
        try:
            return policy.policy_effective_from_check(moment, now=timezone.now())
        except ValidationError as error:
            raise ValidationError(error.message_dict["effective_from"]) from None


@admin.register(Policy)
class PolicyAdmin(ImpactPreviewAdmin, OrganisationScopedAdmin):
    """A new version is published (everyone is recomputed when it takes effect); versions are never edited or deleted.

    A rollback is a new version with an older one's values: the action below opens the form filled with them.
    """

    organisation_kinds = ()  # administrators only
    organisation_field = None
    form = PolicyForm
    list_display = (
        "version",
        "state",
        "effective_from",
        "window_days",
        "min_stay_hours",
        "nat_valid_days",
        "home_region",
        "comment",
        "created_by",
        "created_at",
    )
    actions = ["publish_based_on"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a published version is never deleted: a rollback is a new version

    @admin.display(description=_("状态"))
    def state(self, obj):
        # Two small queries a row: there are a handful of versions, and the answer must be of this moment.
        timeline = policy_timeline()
        if timeline.current is not None and obj.version == timeline.current.version:
            return _("现行")
        if obj in timeline.planned:
            return _("将于 %(at)s 生效") % {"at": beijing_time(obj.effective_from)}
        if timeline.current is not None and obj.version > timeline.current.version:
            return _("不会生效（已被编号更大的版本取代）")
        return _("历史")

    def get_changeform_initial_data(self, request):
        base = self._base_version(request)
        if base is not None:
            return {
                **{name: getattr(base, name) for name in policy.POLICY_PARAMETERS},
                "eligible_provinces": ",".join(base.eligible_provinces),
                "comment": _("以 v%(version)d 为基础发布") % {"version": base.version},
            }
        current = policy_current()
        return {
            "window_days": current.window_days,
            "min_stay_hours": current.min_stay_hours,
            "nat_valid_days": current.nat_valid_days,
            "inbound_observation_days": current.inbound_observation_days,
            "inbound_arrival_grace_days": current.inbound_arrival_grace_days,
            "eligible_provinces": ",".join(current.eligible_provinces),
            "home_region": current.home_region,
        }

    @staticmethod
    def _base_version(request):
        raw = request.GET.get("base", "")
        return Policy.objects.filter(pk=int(raw)).first() if raw.isdigit() else None

    def save_model(self, request, obj, form, change):
        published = policy.policy_publish(actor=request.user, **form.cleaned_data)
        obj.version = published.version
        obj.created_at = published.created_at

    def impact_preview(self, request, form, obj):
        return impact.policy_impact(proposed=impact.policy_proposed(form.cleaned_data))

    @admin.action(description=_("以此版本为基础发布新版本（回退）"), permissions=["add"])
    def publish_based_on(self, request, queryset):
        versions = list(queryset.values_list("version", flat=True)[:2])
        if len(versions) != 1:
            self.message_user(request, _("请只选择一个版本。"), messages.WARNING)
            return None
        return HttpResponseRedirect(f"{reverse('admin:health_policy_add')}?base={versions[0]}")


# --- history and audit ---------------------------------------------------------------------------
class NewStatusFilter(admin.SimpleListFilter):
    title = _("新状态")
    parameter_name = "new_status"

    def lookups(self, request, model_admin):
        return HealthStatus.Code.choices

    def queryset(self, request, queryset):
        return queryset.filter(new_status=self.value()) if self.value() else queryset


class CauseFilter(admin.SimpleListFilter):
    title = _("变更起因")
    parameter_name = "cause"

    def lookups(self, request, model_admin):
        return [(cause, label) for cause, label in CAUSES.items() if cause]

    def queryset(self, request, queryset):
        return queryset.filter(cause=self.value()) if self.value() else queryset


@admin.register(StatusEvent)
class StatusEventAdmin(AuditedStatusAdmin, ScopedReadOnlyAdmin):
    """The history of status changes in words: statuses, reasons and causes by their labels, no JSON.

    A person's past statuses are a read of their status like the current one: on record, page by page.
    """

    organisation_kinds = HEALTH
    status_columns = ("old_status_words", "new_status_words")
    status_page_fresh = False
    list_display = ("computed_at", "person", "old_status_words", "new_status_words", "reasons_words", "cause_words")
    list_filter = (NewStatusFilter, CauseFilter)
    list_select_related = ("person",)
    fields = (
        "person",
        "computed_at",
        "old_status_words",
        "old_reasons_words",
        "new_status_words",
        "reasons_words",
        "cause_words",
        "policy_version",
    )
    readonly_fields = fields

    @admin.display(description=_("原状态"), ordering="old_status")
    def old_status_words(self, obj):
        return status_label(obj.old_status) if self.shown_status(obj) is not None else "—"

    @admin.display(description=_("新状态"), ordering="new_status")
    def new_status_words(self, obj):
        return status_label(obj.new_status) if self.shown_status(obj) is not None else "—"

    @admin.display(description=_("原因"))
    def reasons_words(self, obj):
        return reasons_labels(obj.new_reasons) or "—"

    @admin.display(description=_("原来的原因"))
    def old_reasons_words(self, obj):
        return reasons_labels(obj.old_reasons) or "—"

    @admin.display(description=_("变更起因"), ordering="cause")
    def cause_words(self, obj):
        return cause_label(obj.cause)


CHANNELS = {Channel.API: _("接口查询"), Channel.ADMIN: _("管理后台查看")}  # health.status_reads.channel_words


class ChannelFilter(admin.SimpleListFilter):
    title = _("渠道")
    parameter_name = "channel"

    def lookups(self, request, model_admin):
        return list(CHANNELS.items())

    def queryset(self, request, queryset):
        return queryset.filter(channel=self.value()) if self.value() else queryset


@admin.register(StatusAccess)
class StatusAccessAdmin(ScopedReadOnlyAdmin):
    organisation_kinds = ()  # administrators only
    # Who as they were at the read (the snapshot), not as the account is named today.
    list_display = ("accessed_at", "username", "organisation_name", "person", "channel_words", "screen_words", "purpose_words")
    list_filter = (ChannelFilter, organisation_kind_filter("organisation_kind", _("机构类型（查询时）")))
    list_select_related = ("person",)
    search_fields = ("username", "organisation_name", "purpose", "screen")
    fields = ("accessed_at", "username", "organisation_name", "person", "channel_words", "screen_words", "purpose_words")
    readonly_fields = fields

    @admin.display(description=_("渠道"), ordering="channel")
    def channel_words(self, obj):
        return channel_words(obj.channel)

    @admin.display(description=_("查看页面"), ordering="screen")
    def screen_words(self, obj):
        # Stored in the words staff read at the time (a snapshot); reads from before it was kept have none.
        return obj.screen or "—"

    @admin.display(description=_("事由"))
    def purpose_words(self, obj):
        # The API asks for a purpose in words; a page view in the admin has none to give.
        return obj.purpose or (_("查看人员健康状态") if obj.channel == Channel.ADMIN else "—")


# --- organisations and staff ---------------------------------------------------------------------
@admin.register(Organisation)
class OrganisationAdmin(OrganisationScopedAdmin):
    organisation_kinds = ()  # administrators only
    organisation_field = None
    list_display = ("name", "code", "kind", "region", "created_at")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    autocomplete_fields = ("region",)

    def get_readonly_fields(self, request, obj=None):
        # A hotel's region is the place of its guests' stays: it moves through the hotel admin's
        # service, which recomputes them. Kind and code identify the organisation in every record.
        return ("kind", "code", "region") if obj is not None else ()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # records and staff point at organisations; they are never removed


@admin.register(StaffMembership)
class StaffMembershipAdmin(OrganisationScopedAdmin):
    organisation_kinds = ()  # administrators only
    organisation_field = None
    list_display = ("user", "role", "organisation")
    list_filter = ("role", "organisation__kind")
    list_select_related = ("user", "organisation")
    autocomplete_fields = ("organisation",)
    search_fields = ("user__username", "organisation__name", "organisation__code")

    def save_model(self, request, obj, form, change):
        saved = staff.membership_set(user=obj.user, organisation=obj.organisation, admin=obj.role == StaffMembership.Role.ADMIN)
        obj.pk = saved.pk


# --- status correction requests ------------------------------------------------------------------
class CorrectionResolveForm(forms.ModelForm):
    """What staff do with a request: resolve it with a comment, or pass it on to whoever can act on it."""

    reroute_to = forms.ModelChoiceField(
        label=_("转交至"),
        queryset=Organisation.objects.filter(kind__in=corrections.HANDLER_KINDS),
        required=False,
        help_text=_("本机构无法处理时（例如状态由其他机构的记录决定），选择应处理的机构并说明原因，不填处理意见。"),
    )
    reroute_note = forms.CharField(label=_("转交说明"), max_length=corrections.NOTE_MAX, required=False)

    class Meta:
        model = StatusCorrectionRequest
        fields = ["resolution_comment"]
        widgets = {"resolution_comment": forms.Textarea(attrs={"rows": 4, "cols": 60})}
        help_texts = {"resolution_comment": _("核实后填写处理意见并保存，申请即标记为已处理。如记录有误，请先在相应记录页面更正。")}

    def clean(self):
        cleaned = super().clean()
        comment = (cleaned.get("resolution_comment") or "").strip()
        target = cleaned.get("reroute_to")
        if self.instance.state != StatusCorrectionRequest.State.OPEN:
            raise ValidationError(_("该申请已处理，不能重复处理。"))
        if target is not None:
            if comment:
                self.add_error("resolution_comment", _("转交时不填处理意见。"))
            if not (cleaned.get("reroute_note") or "").strip():
                self.add_error("reroute_note", _("请说明转交原因。"))
            if target.pk == self.instance.organisation_id:
                self.add_error("reroute_to", _("该申请已由该机构处理。"))
        elif not comment:
            self.add_error("resolution_comment", _("请填写处理意见。"))
        cleaned["resolution_comment"] = comment
        return cleaned


@admin.register(StatusCorrectionRequest)
class StatusCorrectionRequestAdmin(
    AuditedStatusAdmin, PersonColumnsAdmin, HashedIdSearchAdmin, OrganisationScopedAdmin
):
    """The queue of the routed organisation (a community, or the health authority); resolved through the service."""

    # The status at submission on the list, and the current one on the page: reads of the person's status.
    status_columns = ("status_then",)

    organisation_kinds = corrections.HANDLER_KINDS
    organisation_field = "organisation"
    member_can_add = False
    form = CorrectionResolveForm
    list_display = ("submitted_at_display", "person_name", "person_id_masked", "status_then", "message_short", "state")
    list_filter = ("state",)
    list_select_related = ("person", "organisation", "resolved_by")
    search_fields = ("person__name",)
    ordering = ("-submitted_at", "-pk")
    readonly_base = (
        "person_link",
        "person_id_masked",
        "submitted_at_display",
        "status_then",
        "status_now",
        "message",
        "organisation",
        "routing_note",
        "state",
    )
    resolved_fields = ("resolution_comment", "resolved_by", "resolved_at_display")

    def get_list_display(self, request):
        return (*self.list_display, "organisation") if self.is_admin(request) else self.list_display

    def has_add_permission(self, request) -> bool:
        return False  # requests come from residents, through the API

    def get_fields(self, request, obj=None):
        if obj is not None and obj.state == StatusCorrectionRequest.State.OPEN and self.has_change_permission(request, obj):
            return (*self.readonly_base, "resolution_comment", "reroute_to", "reroute_note")
        if obj is not None and obj.state == StatusCorrectionRequest.State.OPEN:
            return (*self.readonly_base, "resolution_comment")
        return (*self.readonly_base, *self.resolved_fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.state == StatusCorrectionRequest.State.OPEN and self.has_change_permission(request, obj):
            return self.readonly_base
        return (*self.readonly_base, *self.resolved_fields)

    def save_model(self, request, obj, form, change):
        target = form.cleaned_data.get("reroute_to")
        try:
            if target is not None:
                saved = corrections.correction_reroute(
                    actor=request.user, request=obj, organisation=target, note=form.cleaned_data["reroute_note"]
                )
                obj.organisation, obj.routing_note = saved.organisation, saved.routing_note
                self.message_user(request, _("已转交 %(organisation)s。") % {"organisation": target}, messages.SUCCESS)
                return
            # Resolved meanwhile by a colleague: the form no longer has the field, and the service refuses.
            comment = form.cleaned_data.get("resolution_comment", request.POST.get("resolution_comment", ""))
            saved = corrections.correction_resolve(actor=request.user, request=obj, comment=comment)
        except (ApplicationError, ValidationError) as error:
            message = error.message if isinstance(error, ApplicationError) else "；".join(error.messages)
            self.message_user(request, str(message), messages.ERROR)
            return
        obj.state, obj.resolved_by, obj.resolved_at = saved.state, saved.resolved_by, saved.resolved_at

    def save_related(self, request, form, formsets, change):
        """Nothing related is edited here."""

    @admin.display(description=_("提交时间"), ordering="submitted_at")
    def submitted_at_display(self, obj):
        return beijing_time(obj.submitted_at)

    @admin.display(description=_("处理时间"))
    def resolved_at_display(self, obj):
        return beijing_time(obj.resolved_at)

    @admin.display(description=_("人员"))
    def person_link(self, obj):
        url = reverse("admin:health_person_change", args=[obj.person_id])
        return format_html('<a href="{}">{}</a>', url, obj.person.name)

    @admin.display(description=_("提交时的健康状态"))
    def status_then(self, obj):
        return status_label(obj.status_at_submission) if self.shown_status(obj) is not None else "—"

    @admin.display(description=_("当前健康状态"))
    def status_now(self, obj):
        status = self.shown_status(obj)
        if status is None or status.computed_at is None:
            return "—"
        words = reasons_sentence(status.reasons)
        return f"{status_label(status.status)}（{words}）" if words else status_label(status.status)

    @admin.display(description=_("申请说明"))
    def message_short(self, obj):
        return obj.message if len(obj.message) <= 40 else f"{obj.message[:40]}…"


# --- API credentials -------------------------------------------------------------------------------
@admin.register(AuthToken)
class ApiTokenAdmin(OrganisationScopedAdmin):
    """Staff API tokens: listed and revoked (deleted) by administrators; issued only by the token endpoint."""

    organisation_kinds = ()  # administrators only
    organisation_field = None
    list_display = ("user", "token_key", "created", "expiry", "in_force")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    fields = ("user", "token_key", "created", "expiry")
    readonly_fields = fields
    actions = ["revoke_selected"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # the service's revoke instead
        return actions

    @admin.display(description=_("有效"), boolean=True)
    def in_force(self, obj) -> bool:
        return obj.expiry is None or obj.expiry > timezone.now()

    @admin.action(description=_("吊销所选令牌"), permissions=["delete"])
    def revoke_selected(self, request, queryset):
        for token in queryset:
            tokens.api_token_revoke(token=token)
        self.message_user(request, _("已吊销 %(count)d 个令牌。") % {"count": len(queryset)}, messages.SUCCESS)

    def delete_model(self, request, obj):
        tokens.api_token_revoke(token=obj)


class MachineKeyForm(forms.ModelForm):
    class Meta:
        model = MachineKey
        fields = ["user", "name", "expiry_date"]

    def clean_user(self):
        user = self.cleaned_data["user"]
        try:
            tokens.ensure_machine_account(user)
        except ValidationError as error:
            raise ValidationError(error.messages) from None
        return user


@admin.register(MachineKey)
class MachineKeyAdmin(OrganisationScopedAdmin):
    """Systems' keys: made, rotated and revoked by administrators; the key is shown once, in a message."""

    organisation_kinds = ()  # administrators only
    organisation_field = None
    form = MachineKeyForm
    list_display = ("name", "user", "prefix", "created", "expiry_date", "last_used_at", "revoked", "rotated_from")
    list_filter = ("revoked",)
    list_select_related = ("user", "rotated_from")
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("prefix", "created", "last_used_at", "revoked", "rotated_from")
    actions = ["rotate_selected", "revoke_selected"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a key is never edited: rotated or revoked by the actions

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            # Only the accounts of systems that may hold a key.
            kwargs["queryset"] = db_field.related_model.objects.filter(
                membership__organisation__kind__in=list(MACHINE_KEY_SCOPES), is_active=True
            ).order_by("username")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("user", "name", "expiry_date")
        return ("name", "user", "prefix", "created", "expiry_date", "last_used_at", "revoked", "rotated_from")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # revoke instead: the row stays as the record of the key
        return actions

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        try:
            saved, plain = tokens.machine_key_create(
                user=form.cleaned_data["user"], name=form.cleaned_data["name"], expiry_date=form.cleaned_data.get("expiry_date")
            )
        except ValidationError as error:
            self.message_user(request, "；".join(error.messages), messages.ERROR)
            return
        obj.pk, obj.prefix = saved.pk, saved.prefix
        self.message_user(request, _("新的接入密钥（只显示这一次，请立即交给对接系统）：%(key)s") % {"key": plain}, messages.WARNING)

    def save_related(self, request, form, formsets, change):
        """Nothing related is edited here."""

    @admin.action(description=_("轮换所选密钥（旧密钥在宽限期后失效）"))
    def rotate_selected(self, request, queryset):
        for machine_key in queryset:
            try:
                _new, plain = tokens.machine_key_rotate(machine_key=machine_key)
            except ValidationError as error:
                self.message_user(request, f"{machine_key.name}：{'；'.join(error.messages)}", messages.ERROR)
                continue
            self.message_user(
                request, _("%(name)s 的新密钥（只显示这一次）：%(key)s") % {"name": machine_key.name, "key": plain}, messages.WARNING
            )

    @admin.action(description=_("吊销所选密钥（立即失效，不可恢复）"))
    def revoke_selected(self, request, queryset):
        for machine_key in queryset:
            tokens.machine_key_revoke(machine_key=machine_key)
        self.message_user(request, _("已吊销 %(count)d 个密钥。") % {"count": len(queryset)}, messages.SUCCESS)
