"""Records of the communities app: communities (organisations of kind community) and their quarantines."""
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from health.display import beijing_day, beijing_time
from health.models import Organisation, OrganisationKindManager, Person
from health.validation import RecordValidation


class Community(Organisation):
    """A residential community (社区): one row of the organisations table with kind "community"."""

    objects = OrganisationKindManager(Organisation.Kind.COMMUNITY)

    class Meta:
        proxy = True
        verbose_name = _("社区")
        verbose_name_plural = _("社区")


class QuarantineRecord(RecordValidation, models.Model):
    """A person placed in home or centralized quarantine by a community; only a lift ends it."""

    class Kind(models.TextChoices):
        HOME = "home", _("居家隔离")
        CENTRALIZED = "centralized", _("集中隔离")

    person = models.ForeignKey(Person, verbose_name=_("人员"), on_delete=models.PROTECT, related_name="quarantines")
    # The owning community, denormalised so that every row-level filter is this one indexed column.
    community = models.ForeignKey(
        Organisation,
        verbose_name=_("社区"),
        on_delete=models.PROTECT,
        related_name="quarantines",
        limit_choices_to={"kind": Organisation.Kind.COMMUNITY},
    )
    kind = models.CharField(_("隔离方式"), max_length=16, choices=Kind.choices)
    started_at = models.DateTimeField(_("开始时间"))
    planned_end_at = models.DateTimeField(_("计划解除时间"), null=True, blank=True)
    lifted_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("解除人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("隔离记录")
        verbose_name_plural = _("隔离记录")
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(fields=["community", "-started_at"], name="quarantine_community_started"),
            # The worker's daily lists (due today, overdue) read only records not yet lifted.
            models.Index(
                fields=["community", "planned_end_at"],
                condition=Q(lifted_at__isnull=True),
                name="quarantine_community_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True) | Q(lifted_at__gte=F("started_at")),
                name="quarantine_lifted_after_started",
                violation_error_message=_("解除时间不能早于开始时间。"),
            ),
            models.CheckConstraint(
                condition=Q(planned_end_at__isnull=True) | Q(planned_end_at__gte=F("started_at")),
                name="quarantine_planned_end_after_started",
                violation_error_message=_("计划解除时间不能早于开始时间。"),
            ),
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=False) | Q(lifted_by__isnull=True),
                name="quarantine_lifted_by_only_when_lifted",
            ),
            # A double submission must not register the same quarantine twice.
            models.UniqueConstraint(
                fields=["person", "community", "kind"],
                condition=Q(lifted_at__isnull=True),
                name="quarantine_one_active_per_kind",
                violation_error_message=_("该人员在本社区已有同类未解除的隔离记录。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.get_kind_display()} {beijing_day(self.started_at)}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class PlannedEndChange(RecordValidation, models.Model):
    """Append-only history of a quarantine's planned end: extended or shortened, by whom, when, why."""

    record = models.ForeignKey(
        QuarantineRecord, verbose_name=_("隔离记录"), on_delete=models.CASCADE, related_name="planned_end_changes"
    )
    old_planned_end_at = models.DateTimeField(_("原计划解除时间"), null=True, blank=True)
    new_planned_end_at = models.DateTimeField(_("新计划解除时间"), null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("修改人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("修改时间"))
    comment = models.CharField(_("说明"), max_length=255)

    class Meta:
        verbose_name = _("计划解除时间变更")
        verbose_name_plural = _("计划解除时间变更")
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["record", "-changed_at"], name="plannedend_record_time")]

    def __str__(self) -> str:
        return f"{self.record_id}: {beijing_time(self.old_planned_end_at)} → {beijing_time(self.new_planned_end_at)}"
