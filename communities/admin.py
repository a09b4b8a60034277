"""The community workers' admin, in Chinese: their community's quarantines only; every write through the services."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from communities import selectors, services
from communities.models import Community, QuarantineRecord
from health.admin_actions import RecordActionAdmin
from health.admin_base import HashedIdSearchAdmin, OrganisationScopedAdmin, PersonColumnsAdmin
from health.admin_status import AuditedStatusAdmin
from health.display import beijing_time
from health.document_forms import DocumentFormFields
from health.explanations import cause_label, reasons_labels, status_cell_html
from health.forms import TimeBoundsForm
from health.identity import name_normalise
from health.models import HealthStatus, Organisation, Region, StatusEvent
from health.services.persons import person_registered, same_name

STATUS_LABELS = dict(HealthStatus.Code.choices)


def _status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code or "—"))


# --- forms ---------------------------------------------------------------------------------
class QuarantineAddForm(DocumentFormFields, TimeBoundsForm, forms.ModelForm):
    """Name and ID number of the person (found or created), and the quarantine itself."""

    past_times = ("started_at",)
    planned_times = ("planned_end_at",)

    person_name = forms.CharField(label=_("姓名"), max_length=64)

    class Meta:
        model = QuarantineRecord
        fields = ["community", "kind", "started_at", "planned_end_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "community" in self.fields:
            self.fields["community"].queryset = Community.objects.order_by("code")
            self.fields["community"].required = True

    def clean_person_name(self) -> str:
        return name_normalise(self.cleaned_data["person_name"])

    def clean(self):
        data = super().clean()
        self.clean_document(data)
        started_at, planned_end_at = data.get("started_at"), data.get("planned_end_at")
        if started_at and planned_end_at and planned_end_at < started_at:
            self.add_error("planned_end_at", _("计划解除时间不能早于开始时间。"))
        number, name = data.get("id_number"), data.get("person_name")
        if number and name:
            person, registered = person_registered(number)
            if person is not None and not same_name(registered, name):
                self.add_error("person_name", _("该身份证号码已登记为另一姓名。"))
            community = data.get("community") or getattr(self, "member_community", None)
            if (
                person is not None
                and community is not None
                and QuarantineRecord.objects.filter(
                    person=person, community=community, kind=data.get("kind"), lifted_at__isnull=True
                ).exists()
            ):
                self.add_error("kind", _("该人员在本社区已有同类未解除的隔离记录。"))
        return data


class QuarantineChangeForm(TimeBoundsForm, forms.ModelForm):
    """Only the planned end may change, and only with a reason (kept in the history)."""

    planned_times = ("planned_end_at",)

    change_comment = forms.CharField(
        label=_("修改原因"), max_length=255, required=False, help_text=_("修改计划解除时间时必填，记入变更历史。")
    )

    class Meta:
        model = QuarantineRecord
        fields = ["planned_end_at"]

    def clean(self):
        data = super().clean()
        if "planned_end_at" in self.changed_data and not data.get("change_comment", "").strip():
            self.add_error("change_comment", _("修改计划解除时间时请说明原因。"))
        return data


# --- list filters --------------------------------------------------------------------------
class ActiveFilter(admin.SimpleListFilter):
    title = _("隔离状态")
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", _("隔离中")), ("no", _("已解除"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(lifted_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


class DueFilter(admin.SimpleListFilter):
    """Days are Beijing days (TIME_ZONE): due today = planned for today; overdue = planned before today."""

    title = _("计划解除")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("today", _("今日到期")), ("overdue", _("已逾期"))]

    def queryset(self, request, queryset):
        if self.value() == "today":
            return selectors.quarantines_due_today(queryset)
        if self.value() == "overdue":
            return selectors.quarantines_overdue(queryset)
        return queryset


# --- quarantines ---------------------------------------------------------------------------
@admin.register(QuarantineRecord)
class QuarantineRecordAdmin(AuditedStatusAdmin, RecordActionAdmin, PersonColumnsAdmin, HashedIdSearchAdmin, OrganisationScopedAdmin):
    # A save's message says the person's resulting status in words (AuditedStatusAdmin).
    status_message_after_save = True
    organisation_kinds = (Organisation.Kind.COMMUNITY,)
    status_columns = ("current_status",)
    organisation_field = "community"
    # The status next to the name: at 1366 px the right-hand columns are the first to scroll away.
    list_display = (
        "person_name",
        "current_status",
        "person_id_masked",
        "kind",
        "started_at",
        "planned_end_at",
        "lifted_at",
    )
    list_filter = (ActiveFilter, DueFilter, "kind")
    search_fields = ("person__name",)
    search_help_text = _("输入姓名或完整的身份证号码")
    list_per_page = 50
    actions = ["lift_selected"]
    record_action = "lift_selected"
    change_form_readonly = (
        "person_name",
        "person_id_masked",
        "community",
        "kind",
        "started_at",
        "lifted_at",
        "lifted_by",
        "created_by",
        "created_at",
        "status_now",
        "status_history",
        "planned_end_history",
    )

    def record_action_open(self, obj) -> bool:
        return obj.lifted_at is None

    # --- scoping: the queryset is the selector's (one indexed column for a worker) ---
    def get_queryset(self, request):
        return selectors.quarantines_visible_to(request.user).select_related("person__health_status")

    def get_list_display(self, request):
        if self.is_admin(request):
            return (*self.list_display, "community")
        return self.list_display

    # --- columns ---
    @admin.display(description=_("当前健康状态"), ordering="person__health_status__status")
    def current_status(self, obj):
        status = self.shown_status(obj)
        return "—" if status is None else status_cell_html(status)

    @admin.display(description=_("当前健康状态"))
    def status_now(self, obj):
        status = self.shown_status(obj)
        if status is None:
            return "—"
        return format_html(
            "<strong>{}</strong><br>{}：{}<br>{}：{}<br>{}：{}",
            _status_label(status.status),
            _("原因"),
            reasons_labels(status.reasons) or "—",
            _("有效至"),
            beijing_time(status.valid_until),
            _("计算时间"),
            beijing_time(status.computed_at, seconds=True),
        )

    @admin.display(description=_("状态变更记录"))
    def status_history(self, obj):
        if self.shown_status(obj) is None:  # the history is a read of the status like the current one
            return "—"
        events = StatusEvent.objects.filter(person_id=obj.person_id).order_by("-computed_at", "-pk")[:50]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    beijing_time(event.computed_at, seconds=True),
                    _status_label(event.old_status) if event.old_status else "—",
                    _status_label(event.new_status),
                    reasons_labels(event.new_reasons) or "—",
                    cause_label(event.cause),
                )
                for event in events
            ),
        )
        if not rows:
            return "—"
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("时间"),
            _("状态"),
            _("原因"),
            _("变更起因"),
            rows,
        )

    @admin.display(description=_("计划解除时间变更历史"))
    def planned_end_history(self, obj):
        changes = selectors.planned_end_history(obj)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td></tr>",
            (
                (
                    beijing_time(change.changed_at),
                    change.changed_by.get_username() if change.changed_by else "—",
                    beijing_time(change.old_planned_end_at),
                    beijing_time(change.new_planned_end_at),
                    change.comment,
                )
                for change in changes
            ),
        )
        if not rows:
            return "—"
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("修改时间"),
            _("修改人"),
            _("计划解除时间"),
            _("说明"),
            rows,
        )

    # --- forms: add by name + ID number; change only the planned end, with a reason ---
    def get_fields(self, request, obj=None):
        if obj is None:
            fields = ["person_name", "document_type", "id_number", "nationality", "birth_date", "kind", "started_at", "planned_end_at"]
            return ["community", *fields] if self.is_admin(request) else fields
        if obj.lifted_at is None:
            return [*self.change_form_readonly[:5], "planned_end_at", "change_comment", *self.change_form_readonly[5:]]
        return [*self.change_form_readonly[:5], "planned_end_at", *self.change_form_readonly[5:]]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if obj.lifted_at is not None or not self.has_change_permission(request, obj):
            return (*self.change_form_readonly, "planned_end_at")
        return self.change_form_readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = QuarantineAddForm if obj is None else QuarantineChangeForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and not self.is_admin(request):
            # The worker's community is set automatically; the form needs it for its duplicate check.
            form = type(form.__name__, (form,), {"member_community": self.member_organisation(request)})
        return form

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            record = services.quarantine_register(
                actor=request.user,
                community=data.get("community") or self.member_organisation(request),
                person_name=data["person_name"],
                id_number=data["id_number"],
                kind=data["kind"],
                started_at=data["started_at"],
                planned_end_at=data.get("planned_end_at"),
            )
            # The admin goes on with `obj` (log entry, redirect): make it the registered record.
            for field in record._meta.concrete_fields:
                setattr(obj, field.attname, getattr(record, field.attname))
            obj._state.adding = False
            return
        if "planned_end_at" in form.changed_data:
            services.quarantine_change_planned_end(
                actor=request.user, record=obj, planned_end_at=data["planned_end_at"], comment=data["change_comment"]
            )

    def save_related(self, request, form, formsets, change):
        """No related objects are edited here (the default would call save_m2m on an unsaved form)."""

    def delete_model(self, request, obj):
        services.quarantines_delete(actor=request.user, records_or_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        services.quarantines_delete(actor=request.user, records_or_ids=list(queryset.values_list("pk", flat=True)))

    # --- the lift action, with a confirmation page ---
    @admin.action(description=_("解除隔离"), permissions=["change"])
    def lift_selected(self, request, queryset):
        if not queryset.exists():
            self.message_user(request, _("未找到所选记录。"), messages.WARNING)
            return None
        active = queryset.filter(lifted_at__isnull=True).select_related("person").order_by("pk")
        if request.POST.get("confirm") == "yes":
            records = {record.pk: record for record in active}  # before the lift empties `active`
            try:
                lifted = services.quarantines_lift(
                    actor=request.user, records_or_ids=list(active.values_list("pk", flat=True))
                )
            except ValidationError:
                ahead = [record for record in active if record.started_at > timezone.now()]
                if not ahead:
                    raise  # another refusal: the admin shows it as it is
                self.message_user(
                    request,
                    gettext("以下隔离记录的开始时间晚于当前时间，尚不能解除：%(records)s。未解除任何记录，请在开始时间之后再操作。")
                    % {
                        "records": "、".join(
                            gettext("%(name)s（%(id)s，开始于 %(at)s）")
                            % {"name": record.person.name, "id": record.person.id_masked, "at": beijing_time(record.started_at)}
                            for record in ahead
                        )
                    },
                    messages.ERROR,
                )
                return None
            self.message_user(
                request,
                ngettext("已解除 %(count)d 条隔离记录，健康状态已更新。", "已解除 %(count)d 条隔离记录，健康状态已更新。", len(lifted))
                % {"count": len(lifted)},
                messages.SUCCESS,
            )
            self.message_statuses(request, [records[pk] for pk in lifted if pk in records], what="解除隔离后提示")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("确认解除隔离"),
            "opts": self.opts,
            "records": list(active),
            "already_lifted": queryset.filter(lifted_at__isnull=False).count(),
            "selected": list(queryset.values_list("pk", flat=True)),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/communities/quarantinerecord/lift_confirmation.html", context)


# --- communities (administrators only) -----------------------------------------------------
class CommunityAddForm(forms.ModelForm):
    region_code = forms.CharField(label=_("区划代码"), max_length=6, min_length=6)

    class Meta:
        model = Community
        fields = ["code", "name"]

    def clean_region_code(self) -> str:
        code = self.cleaned_data["region_code"]
        if not Region.objects.filter(code=code).exists():
            raise ValidationError(_("区划代码不存在。"))
        return code

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if Organisation.objects.filter(kind=Organisation.Kind.COMMUNITY, code=code).exists():
            raise ValidationError(_("该社区编码已存在。"))
        return code


@admin.register(Community)
class CommunityAdmin(OrganisationScopedAdmin):
    organisation_kinds = ()  # administrators only
    organisation_field = None
    list_display = ("code", "name", "region")
    search_fields = ("code", "name")
    form = CommunityAddForm

    def get_queryset(self, request):
        return Community.objects.select_related("region")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # quarantines and inbound cases point at their community; it is never removed

    def get_fields(self, request, obj=None):
        return ["code", "name", "region_code"] if obj is None else ["code", "name", "region", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("code", "name", "region", "created_at")

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = form.cleaned_data
        community = services.community_create(
            actor=request.user, code=data["code"], name=data["name"], region_code=data["region_code"]
        )
        obj.pk = community.pk
        obj.kind = community.kind
        obj.region_id = community.region_id
        obj.created_at = community.created_at
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        """Nothing related is edited here."""
