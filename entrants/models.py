"""Records of the entrants app: travellers who entered the country bound for Beijing."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from health.display import beijing_day
from health.models import Organisation, Person
from health.validation import RecordValidation


class InboundCase(RecordValidation, models.Model):
    """One entry into the country, registered by border control; released by rule or by its community.

    `quarantine_ended_on` and `released_on` are the Beijing dates of `quarantine_ended_at` and
    `released_at`, written by the services with them. They exist so that the database itself
    can compare those moments with `entered_country_on` (a calendar date) with a plain
    date-to-date CHECK that works the same on SQLite and PostgreSQL, and so that the admin can
    filter late arrivals with date arithmetic instead of a time-zone conversion per row.
    """

    person = models.ForeignKey(Person, verbose_name=_("人员"), on_delete=models.PROTECT, related_name="inbound_cases")
    entered_country_on = models.DateField(_("入境日期"))
    port_of_entry = models.CharField(_("入境口岸"), max_length=64)
    origin_country = models.CharField(_("出发国家或地区"), max_length=2, help_text=_("ISO 3166-1 二位字母代码"))
    quarantine_ended_at = models.DateTimeField(_("集中隔离结束时间"), null=True, blank=True)
    quarantine_ended_on = models.DateField(_("集中隔离结束日期"), null=True, blank=True, editable=False)
    entered_city_on = models.DateField(_("进京日期"), null=True, blank=True)
    managing_community = models.ForeignKey(
        Organisation,
        verbose_name=_("管理社区"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="managed_inbound_cases",
        limit_choices_to={"kind": Organisation.Kind.COMMUNITY},
    )
    border = models.ForeignKey(
        Organisation,
        verbose_name=_("登记部门"),
        on_delete=models.PROTECT,
        related_name="recorded_inbound_cases",
        limit_choices_to={"kind": Organisation.Kind.BORDER},
    )
    released_at = models.DateTimeField(_("解除观察时间"), null=True, blank=True)
    released_on = models.DateField(_("解除观察日期"), null=True, blank=True, editable=False)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("解除人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("录入人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("入境人员")
        verbose_name_plural = _("入境人员")
        ordering = ["-entered_country_on", "-pk"]
        indexes = [
            models.Index(fields=["managing_community", "released_at"], name="inbound_community_released"),
            models.Index(fields=["entered_country_on"], name="inbound_entered_country"),
        ]
        constraints = [
            # One entry per person and day: the key a resent feed row is matched on.
            models.UniqueConstraint(fields=["person", "entered_country_on"], name="inbound_person_entry_unique"),
            models.CheckConstraint(
                condition=Q(quarantine_ended_at__isnull=True, quarantine_ended_on__isnull=True)
                | Q(
                    quarantine_ended_at__isnull=False,
                    quarantine_ended_on__isnull=False,
                    quarantine_ended_on__gte=F("entered_country_on"),
                ),
                name="inbound_quarantine_ends_after_entry",
            ),
            models.CheckConstraint(
                condition=Q(entered_city_on__isnull=True) | Q(entered_city_on__gte=F("entered_country_on")),
                name="inbound_city_after_country",
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True, released_on__isnull=True)
                | Q(released_at__isnull=False, released_on__isnull=False, released_on__gte=F("entered_country_on")),
                name="inbound_released_after_entry",
            ),
            # NULL in a CHECK passes, so each branch names the columns it needs as not null.
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | Q(managing_community__isnull=False),
                name="inbound_released_only_when_managed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {beijing_day(self.entered_country_on)} {self.port_of_entry}"
