"""Records of the hotels app: hotels (organisations of kind hotel), guests' stays and their nucleic-acid tests."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from health.display import beijing_time
from health.models import Organisation, OrganisationKindManager, Person, Region
from health.timebounds import CLOCK_SKEW
from health.validation import RecordValidation

# How far ahead of the moment it was recorded a sampling time may lie: clock skew between a
# front desk's terminal and the server, the same tolerance the API gives every past time.
SAMPLING_CLOCK_SKEW = CLOCK_SKEW


class Hotel(Organisation):
    """A hotel: one row of the organisations table with kind "hotel"; its region is its place for the rules."""

    objects = OrganisationKindManager(Organisation.Kind.HOTEL)

    class Meta:
        proxy = True
        verbose_name = _("酒店")
        verbose_name_plural = _("酒店")


class CheckIn(RecordValidation, models.Model):
    """A guest's stay at a hotel, from check-in to checkout (open while checked_out_at is null)."""

    person = models.ForeignKey(Person, verbose_name=_("人员"), on_delete=models.PROTECT, related_name="checkins")
    # The owning hotel, denormalised so that every row-level filter is this one indexed column.
    hotel = models.ForeignKey(
        Organisation,
        verbose_name=_("酒店"),
        on_delete=models.PROTECT,
        related_name="checkins",
        limit_choices_to={"kind": Organisation.Kind.HOTEL},
    )
    checked_in_at = models.DateTimeField(_("入住时间"))
    checked_out_at = models.DateTimeField(_("离店时间"), null=True, blank=True)
    origin_region = models.ForeignKey(
        Region,
        verbose_name=_("来源地"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"is_current": True},
        help_text=_("客人此行出发的地区（区县或城市）。"),
    )
    health_management_accepted = models.BooleanField(
        _("接受酒店健康管理"),
        default=False,
        help_text=_("客人无7日内核酸阴性证明时，须在酒店检测并接受酒店健康管理。"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    checked_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("离店办理人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("入住登记")
        verbose_name_plural = _("入住登记")
        ordering = ["-checked_in_at", "-pk"]
        indexes = [
            # The front desk's list of current guests: one hotel, not checked out.
            models.Index(fields=["hotel", "-checked_in_at"], condition=Q(checked_out_at__isnull=True), name="checkin_hotel_current"),
            models.Index(fields=["hotel", "-checked_in_at"], name="checkin_hotel_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True) | Q(checked_out_at__gte=F("checked_in_at")),
                name="checkin_checked_out_after_checked_in",
                violation_error_message=_("离店时间不能早于入住时间。"),
            ),
            models.UniqueConstraint(
                fields=["person", "hotel"],
                condition=Q(checked_out_at__isnull=True),
                name="checkin_one_open_stay_per_person_hotel",
                violation_error_message=_("该客人在本酒店已有未离店的入住登记。"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} @ {self.hotel.name} {beijing_time(self.checked_in_at)}"

    @property
    def is_open(self) -> bool:
        return self.checked_out_at is None


class NucleicAcidTest(RecordValidation, models.Model):
    """A nucleic-acid (PCR) test result of a guest: a certificate brought along, or a test at the hotel."""

    class Result(models.TextChoices):
        NEGATIVE = "negative", _("阴性")
        POSITIVE = "positive", _("阳性")

    class Source(models.TextChoices):
        CERTIFICATE = "certificate", _("自带证明")
        HOTEL = "hotel", _("酒店检测")

    person = models.ForeignKey(Person, verbose_name=_("人员"), on_delete=models.PROTECT, related_name="nat_tests")
    checkin = models.ForeignKey(
        CheckIn, verbose_name=_("入住登记"), on_delete=models.PROTECT, null=True, blank=True, related_name="nat_tests"
    )
    # The hotel that recorded it, denormalised from the check-in for one-column row-level filters.
    hotel = models.ForeignKey(
        Organisation,
        verbose_name=_("酒店"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="nat_tests",
        limit_choices_to={"kind": Organisation.Kind.HOTEL},
    )
    sampled_at = models.DateTimeField(_("采样时间"))
    result = models.CharField(_("检测结果"), max_length=8, choices=Result.choices)
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("录入时间"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("核酸检测")
        verbose_name_plural = _("核酸检测")
        ordering = ["-sampled_at", "-pk"]
        indexes = [
            models.Index(fields=["hotel", "-sampled_at"], name="nat_hotel_sampled"),
            # Health staff's review list: positive results, newest first.
            models.Index(fields=["-sampled_at"], condition=Q(result="positive"), name="nat_positive_sampled"),
        ]
        constraints = [
            # now() is not portable in a CHECK: the service sets recorded_at to the server's now,
            # so "not sampled in the future" becomes a comparison of two columns.
            models.CheckConstraint(
                condition=Q(sampled_at__lte=F("recorded_at") + SAMPLING_CLOCK_SKEW),
                name="nat_sampled_not_after_recorded",
                violation_error_message=_("采样时间不能晚于当前时间。"),
            ),
            models.CheckConstraint(
                condition=Q(result__in=["negative", "positive"]), name="nat_result_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=["certificate", "hotel"]), name="nat_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {beijing_time(self.sampled_at)} {self.get_result_display()}"
