"""The core records: persons, regions, organisations and staff, risk areas, designations,
itineraries, policy versions, and the precomputed health status with its history."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey
from simple_history.models import HistoricalRecords

from health.display import beijing_time
from health.validation import RecordValidation


class Region(models.Model):
    """A GB/T 2260 administrative division (province, prefecture-level city, county/district)."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("省级")
        CITY = "city", _("地级")
        COUNTY = "county", _("县级")

    code = models.CharField(_("区划代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=64)
    full_name = models.CharField(_("全称"), max_length=128, blank=True)
    level = models.CharField(_("级别"), max_length=8, choices=Level.choices)
    is_current = models.BooleanField(_("现行"), default=True)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.full_name or self.name} ({self.code})"


class Organisation(models.Model):
    """Whoever records facts: a community, a hotel, or a department of the city."""

    class Kind(models.TextChoices):
        COMMUNITY = "community", _("社区")
        HOTEL = "hotel", _("酒店")
        HEALTH = "health", _("卫生健康部门")
        POLICE = "police", _("公安")
        BORDER = "border", _("海关边检")
        COMMUNITY_AFFAIRS = "community_affairs", _("社区事务部门")
        AVIATION = "aviation", _("民航")
        RAILWAY = "railway", _("铁路")
        PLATFORM = "platform", _("国家政务服务平台")

    DEPARTMENTS = (
        Kind.HEALTH,
        Kind.POLICE,
        Kind.BORDER,
        Kind.COMMUNITY_AFFAIRS,
        Kind.AVIATION,
        Kind.RAILWAY,
        Kind.PLATFORM,
    )

    kind = models.CharField(_("类型"), max_length=24, choices=Kind.choices)
    code = models.CharField(_("编码"), max_length=32)
    name = models.CharField(_("名称"), max_length=128)
    region = models.ForeignKey(
        Region, verbose_name=_("所在区划"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("机构")
        verbose_name_plural = _("机构")
        ordering = ["kind", "code"]
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="organisation_kind_code_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class OrganisationKindManager(models.Manager):
    """The organisations of one kind: the manager of the proxy models Community and Hotel."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def get_queryset(self):
        return super().get_queryset().filter(kind=self.kind)


class StaffMembership(models.Model):
    """Which organisation a staff account acts for; administrators act for none and see all."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("管理员")
        MEMBER = "member", _("工作人员")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("账号"), on_delete=models.CASCADE, related_name="membership"
    )
    role = models.CharField(_("角色"), max_length=8, choices=Role.choices, default=Role.MEMBER)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("机构"), on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )

    class Meta:
        verbose_name = _("工作人员归属")
        verbose_name_plural = _("工作人员归属")
        constraints = [
            models.CheckConstraint(
                condition=Q(role="admin", organisation__isnull=True) | Q(role="member", organisation__isnull=False),
                name="membership_admin_xor_organisation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.organisation or self.get_role_display()}"


class Person(models.Model):
    """A person, known by a keyed digest of the resident ID number; the number itself is never kept."""

    name = models.CharField(_("姓名"), max_length=64)
    id_digest = models.CharField(_("身份证号摘要"), max_length=64, unique=True, editable=False)
    id_masked = models.CharField(_("证件号码"), max_length=24, editable=False)
    # The document that keys the person (health.identity.DOCUMENT_TYPES): the resident ID unless told.
    document_type = models.CharField(
        _("证件类型"), max_length=32, editable=False, default="resident_id", db_default="resident_id"
    )
    nationality = models.CharField(_("国籍"), max_length=3, blank=True, editable=False, default="", db_default="")
    # From the resident ID (or the 18-character permanent residence card), or as given on a passport
    # record: only for suggesting likely duplicates across documents.
    birth_date = models.DateField(_("出生日期"), null=True, blank=True, editable=False, db_index=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} {self.id_masked}"


class PersonNameCorrection(models.Model):
    """Append-only audit of a corrected name: the old and the new name, who corrected it, when and why.

    A stored name is the one every later write and the public query are compared with; a typo or a
    garbled import would otherwise make each of them a 409 or a stranger's answer for good.
    """

    person = models.ForeignKey(Person, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="name_corrections")
    old_name = models.CharField(_("原姓名"), max_length=64)
    new_name = models.CharField(_("新姓名"), max_length=64)
    reason = models.CharField(_("更正原因"), max_length=255)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("更正人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    corrected_at = models.DateTimeField(_("更正时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("姓名更正记录")
        verbose_name_plural = _("姓名更正记录")
        ordering = ["-corrected_at"]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.old_name} → {self.new_name}"


WITHDRAWAL_REASON_MAX = 500
# A withdrawal always says why; a record not withdrawn carries no reason.
WITHDRAWN_WITH_REASON = Q(withdrawn_at__isnull=True, withdrawal_reason="") | (
    Q(withdrawn_at__isnull=False) & ~Q(withdrawal_reason="")
)


class WithdrawableQuerySet(models.QuerySet):
    """Records that can be withdrawn (撤销): the rules read only those that stand."""

    def standing(self):
        """Not withdrawn: what the fact loaders and risk reads see (a withdrawn record never existed for the rules)."""
        return self.filter(withdrawn_at__isnull=True)


class RiskArea(RecordValidation, models.Model):
    """A medium/high-risk designation of a region for [effective_from, effective_to)."""

    class Level(models.TextChoices):
        MEDIUM = "medium", _("中风险")
        HIGH = "high", _("高风险")

    region = models.ForeignKey(Region, verbose_name=_("区划"), on_delete=models.PROTECT, related_name="risk_areas")
    level = models.CharField(_("风险等级"), max_length=8, choices=Level.choices)
    effective_from = models.DateTimeField(_("生效时间"))
    effective_to = models.DateTimeField(_("解除时间"), null=True, blank=True)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("发布机构"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    # Withdrawn (撤销): published in error, as if it never existed for the rules; kept for the record.
    withdrawn_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("撤销人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawal_reason = models.CharField(_("撤销原因"), max_length=WITHDRAWAL_REASON_MAX, blank=True, db_default="")
    history = HistoricalRecords()

    objects = WithdrawableQuerySet.as_manager()

    class Meta:
        verbose_name = _("风险地区")
        verbose_name_plural = _("风险地区")
        ordering = ["-effective_from"]
        indexes = [models.Index(fields=["effective_to"], name="riskarea_effective_to")]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gt=F("effective_from")),
                name="riskarea_ends_after_start",
            ),
            models.CheckConstraint(condition=WITHDRAWN_WITH_REASON, name="riskarea_withdrawn_with_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.get_level_display()}"


class Designation(RecordValidation, models.Model):
    """The health authority's designation of a person as a case or a close contact."""

    class Kind(models.TextChoices):
        CONFIRMED = "confirmed", _("确诊病例")
        SUSPECTED = "suspected", _("疑似病例")
        CLOSE_CONTACT = "close_contact", _("密切接触者")
        ASYMPTOMATIC = "asymptomatic", _("无症状感染者")

    person = models.ForeignKey(Person, verbose_name=_("人员"), on_delete=models.PROTECT, related_name="designations")
    kind = models.CharField(_("类别"), max_length=16, choices=Kind.choices)
    designated_at = models.DateTimeField(_("认定时间"))
    cleared_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("认定机构"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("录入人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    # Withdrawn (撤销): made in error, as if it never existed for the rules; kept for the record.
    withdrawn_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("撤销人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawal_reason = models.CharField(_("撤销原因"), max_length=WITHDRAWAL_REASON_MAX, blank=True, db_default="")
    history = HistoricalRecords()

    objects = WithdrawableQuerySet.as_manager()

    class Meta:
        verbose_name = _("病例认定")
        verbose_name_plural = _("病例认定")
        ordering = ["-designated_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cleared_at__isnull=True) | Q(cleared_at__gte=F("designated_at")),
                name="designation_cleared_after_designated",
            ),
            models.CheckConstraint(condition=WITHDRAWN_WITH_REASON, name="designation_withdrawn_with_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.get_kind_display()}"


class ItineraryStay(models.Model):
    """A stay in a city reported by the national platform (or another department's feed)."""

    # No index of its own: the unique (person, region, arrived_at) constraint leads with it.
    person = models.ForeignKey(
        Person, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="stays", db_index=False
    )
    # No index of its own either: (region, left_at) leads with it, and the fan-out's prefix search is a
    # range of codes on it (health.facts.region_prefix_range), so no varchar_pattern_ops twin is needed.
    region = models.ForeignKey(
        Region, verbose_name=_("城市"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    arrived_at = models.DateTimeField(_("到达时间"))
    left_at = models.DateTimeField(_("离开时间"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=24, default=Organisation.Kind.PLATFORM)
    received_at = models.DateTimeField(_("接收时间"), auto_now=True)

    class Meta:
        verbose_name = _("行程记录")
        verbose_name_plural = _("行程记录")
        ordering = ["person", "arrived_at"]
        # Every index is written by the platform's feed, a million rows an import: only what a query needs.
        # (region, left_at) serves the fan-out (a region or a range of codes) and the purge (per region,
        # the stays that ended before a moment), so left_at has no index of its own.
        indexes = [models.Index(fields=["region", "left_at"], name="stay_region_left")]
        constraints = [
            models.UniqueConstraint(fields=["person", "region", "arrived_at"], name="stay_person_region_arrival_unique"),
            models.CheckConstraint(
                condition=Q(left_at__isnull=True) | Q(left_at__gte=F("arrived_at")),
                name="stay_left_after_arrived",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.region_id} {beijing_time(self.arrived_at)}"


class ItineraryDeclaration(models.Model):
    """The person's own declaration of the cities they were in (the 弹窗 "continue" step)."""

    person = models.ForeignKey(Person, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="declarations")
    declared_at = models.DateTimeField(_("申报时间"))
    region_codes = models.JSONField(_("申报城市"), default=list)
    # Which client made it (a keyed digest of its address, config.security.client_address_digest):
    # name + ID number is all a caller needs, so staff settling a 纠错 can tell the resident's own
    # declarations from a stranger's. Empty for declarations made before it was recorded.
    client_digest = models.CharField(_("申报终端"), max_length=64, blank=True, editable=False, default="", db_default="")

    class Meta:
        verbose_name = _("行程申报")
        verbose_name_plural = _("行程申报")
        ordering = ["person", "-declared_at"]
        indexes = [models.Index(fields=["person", "declared_at"], name="declaration_person_time")]

    def __str__(self) -> str:
        return f"{self.person_id} {beijing_time(self.declared_at)}"


class KeptDeclaration(models.Model):
    """A public declaration from a number and name no person holds yet, kept until that person appears.

    Department data arrives late: a resident asked to declare may do so before any record of theirs
    reached us. The declaration is kept by the number's keyed digest and the name as given (in its
    normal form; the plain number is never stored) and becomes the person's own declaration, with
    its time, when a person with that digest and that name appears. Purged with the itinerary data.
    """

    id_digest = models.CharField(_("身份证号摘要"), max_length=64, editable=False)
    name = models.CharField(_("姓名"), max_length=64)
    declared_at = models.DateTimeField(_("申报时间"))
    region_codes = models.JSONField(_("申报城市"), default=list)
    # The declaring client's keyed digest, as ItineraryDeclaration keeps it; carried over when attached.
    client_digest = models.CharField(_("申报终端"), max_length=64, blank=True, editable=False, default="")

    class Meta:
        verbose_name = _("待关联行程申报")
        verbose_name_plural = _("待关联行程申报")
        ordering = ["declared_at"]
        indexes = [
            models.Index(fields=["id_digest"], name="keptdeclaration_digest"),
            models.Index(fields=["declared_at"], name="keptdeclaration_declared_at"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {beijing_time(self.declared_at)}"


def default_eligible_provinces() -> list[str]:
    return ["11", "12", "13"]


# The bounds of each policy parameter (docs/rules.md, "Policy parameters and their bounds"): a value
# outside them is a typing error, not a policy. Checked by the model (so by the service and the admin).
POLICY_BOUNDS = {
    "window_days": (7, 30),
    "min_stay_hours": (1, 24),
    "nat_valid_days": (1, 14),
    "inbound_observation_days": (7, 60),
    "inbound_arrival_grace_days": (0, 7),
}


def _bounded(name: str) -> list:
    low, high = POLICY_BOUNDS[name]
    return [MinValueValidator(low), MaxValueValidator(high)]


def provinces_known() -> set[str]:
    """The two-digit codes of the GB/T 2260 provinces (the region table's province rows)."""
    return {code[:2] for code in Region.objects.filter(level=Region.Level.PROVINCE).values_list("code", flat=True)}


def eligible_provinces_validate(value) -> None:
    codes = value if isinstance(value, list) else None
    if not codes or any(not isinstance(code, str) or len(code) != 2 for code in codes):
        raise ValidationError(_("请填写两位数字的省级代码，至少一个。"), code="invalid")
    unknown = sorted(set(codes) - provinces_known())
    if unknown:
        raise ValidationError(
            _("不是 GB/T 2260 的省级代码：%(codes)s。"), code="unknown", params={"codes": "、".join(unknown)}
        )


def home_region_validate(value: str) -> None:
    if not (isinstance(value, str) and len(value) == 6 and value.endswith("0000") and value[:2] in provinces_known()):
        raise ValidationError(_("本地区划须为省级区划代码（如 110000）。"), code="not_province")


class PolicyQuerySet(models.QuerySet):
    """Published versions are never edited or deleted: a rollback is a new version."""

    def update(self, **kwargs):
        raise ValidationError(POLICY_IMMUTABLE)

    def delete(self):
        raise ValidationError(POLICY_IMMUTABLE)


POLICY_IMMUTABLE = _("已发布的规则参数版本不能修改或删除；如需回退，请以该版本为基础发布新版本。")


class Policy(models.Model):
    """A version of the rules' parameters: in force from `effective_from` until a later version's start.

    The version in force at a moment is the highest whose `effective_from` has come. Rows are
    only ever inserted (services.policy): never edited, never deleted.
    """

    version = models.PositiveIntegerField(_("版本"), primary_key=True)
    window_days = models.PositiveSmallIntegerField(_("行程回溯天数"), default=14, validators=_bounded("window_days"))
    min_stay_hours = models.PositiveSmallIntegerField(
        _("最短停留小时数"), default=4, validators=_bounded("min_stay_hours")
    )
    nat_valid_days = models.PositiveSmallIntegerField(_("核酸有效天数"), default=7, validators=_bounded("nat_valid_days"))
    inbound_observation_days = models.PositiveSmallIntegerField(
        _("入境观察天数"), default=28, validators=_bounded("inbound_observation_days")
    )
    inbound_arrival_grace_days = models.PositiveSmallIntegerField(
        _("解除集中隔离后进京宽限天数"), default=1, validators=_bounded("inbound_arrival_grace_days")
    )
    eligible_provinces = models.JSONField(
        _("可通行省份"), default=default_eligible_provinces, validators=[eligible_provinces_validate]
    )
    home_region = models.CharField(_("本地区划"), max_length=6, default="110000", validators=[home_region_validate])
    effective_from = models.DateTimeField(_("生效时间"), default=timezone.now)
    comment = models.CharField(_("说明"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发布人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("发布时间"), auto_now_add=True)

    objects = PolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("规则参数版本")
        verbose_name_plural = _("规则参数版本")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"

    def save(self, *args, **kwargs):
        # Only ever inserted: an edit would change the meaning of every status computed under it.
        if not self._state.adding:
            raise ValidationError(POLICY_IMMUTABLE)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(POLICY_IMMUTABLE)

    def clean(self):
        # The home province's own stays must be able to pass: a home outside the eligible provinces
        # would make every resident's itinerary "outside JJJ".
        if (
            isinstance(self.eligible_provinces, list)
            and isinstance(self.home_region, str)
            and self.home_region[:2] not in self.eligible_provinces
        ):
            raise ValidationError({"eligible_provinces": [_("可通行省份须包含本地区划所在省份。")]})


class PolicyActivation(models.Model):
    """The moment a version took effect and everyone was marked for recomputation: one row, once, per version.

    Written in the transaction that publishes a version in force at once, or by the sweep when a
    planned version's `effective_from` comes; the primary key makes "once" hold across processes.
    """

    policy = models.OneToOneField(
        Policy, verbose_name=_("规则参数版本"), on_delete=models.PROTECT, primary_key=True, related_name="activation"
    )
    activated_at = models.DateTimeField(_("实际生效时间"))

    class Meta:
        verbose_name = _("规则参数生效记录")
        verbose_name_plural = _("规则参数生效记录")

    def __str__(self) -> str:
        return f"v{self.policy_id} @ {beijing_time(self.activated_at)}"


class StatusInputsStamp(models.Model):
    """One row whose stamp changes in the same transaction as any write to the policy versions or the
    risk areas: database triggers (migration 0017) bump it on every insert, update, delete or truncate
    of either table, whoever writes (services, feeds, raw SQL). A process keeps both read once and
    checks this stamp before each recompute (health.services.status_inputs.status_inputs_current).

    The stamp never takes a value twice (a sequence on PostgreSQL, a random 64-bit number on SQLite),
    so a rolled-back write cannot make an older state look current.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    stamp = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.stamp)


class StayPurge(models.Model):
    """One run of the itinerary purge: what it deleted before which horizon (no record older survives it)."""

    ran_at = models.DateTimeField(_("执行时间"))
    horizon = models.DateTimeField(_("删除截止时间"))
    retention_days = models.PositiveSmallIntegerField(_("保留天数"))
    deleted = models.PositiveIntegerField(_("删除条数"), default=0)

    class Meta:
        verbose_name = _("行程清理记录")
        verbose_name_plural = _("行程清理记录")
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return beijing_time(self.ran_at)


class HealthStatus(models.Model):
    """The precomputed status of one person: what every read serves, one indexed row.

    `inputs_version` counts changes to the person's facts (bumped when marked dirty);
    `computed_version` is the inputs version the stored decision was computed from, so an
    older computation can never overwrite a newer one.
    """

    class Code(models.TextChoices):
        NO_ABNORMALITY = "no_abnormality", _("未见异常")
        POPUP = "popup", _("弹窗")
        HOME_OBSERVATION = "home_observation", _("居家观察")
        CENTRALIZED_OBSERVATION = "centralized_observation", _("集中观察")

    person = models.OneToOneField(
        Person, verbose_name=_("人员"), on_delete=models.CASCADE, primary_key=True, related_name="health_status"
    )
    status = models.CharField(_("健康状态"), max_length=24, choices=Code.choices, default=Code.POPUP)
    reasons = models.JSONField(_("判定依据"), default=list)
    valid_until = models.DateTimeField(_("有效至"), null=True, blank=True)
    computed_at = models.DateTimeField(_("计算时间"), null=True, blank=True)
    policy_version = models.PositiveIntegerField(_("规则版本"), null=True, blank=True)
    needs_review = models.BooleanField(_("需卫健部门复核"), default=False)
    dirty = models.BooleanField(_("待重算"), default=True)
    dirty_since = models.DateTimeField(_("待重算起始"), null=True, blank=True)
    dirty_cause = models.CharField(_("变更原因"), max_length=64, blank=True)
    inputs_version = models.BigIntegerField(_("输入版本"), default=1)
    computed_version = models.BigIntegerField(_("计算所用输入版本"), default=0)

    class Meta:
        verbose_name = _("健康状态")
        verbose_name_plural = _("健康状态")
        indexes = [
            models.Index(fields=["dirty_since"], condition=Q(dirty=True), name="status_dirty_since"),
            models.Index(fields=["valid_until"], name="status_valid_until"),
            models.Index(fields=["status"], name="status_status"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.get_status_display()}"


class StatusEvent(models.Model):
    """Append-only history: every change of a person's status or reasons, and why."""

    person = models.ForeignKey(Person, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="status_events")
    old_status = models.CharField(_("原状态"), max_length=24, blank=True)
    new_status = models.CharField(_("新状态"), max_length=24)
    old_reasons = models.JSONField(_("原依据"), default=list)
    new_reasons = models.JSONField(_("新依据"), default=list)
    cause = models.CharField(_("原因"), max_length=64, blank=True)
    computed_at = models.DateTimeField(_("计算时间"))
    policy_version = models.PositiveIntegerField(_("规则版本"))
    inputs_version = models.BigIntegerField(_("输入版本"))
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("状态变更记录")
        verbose_name_plural = _("状态变更记录")
        ordering = ["-pk"]
        indexes = [models.Index(fields=["person", "-computed_at"], name="statusevent_person_time")]

    def __str__(self) -> str:
        labels = dict(HealthStatus.Code.choices)
        return f"{self.person_id}: {labels.get(self.old_status, '—')} → {labels.get(self.new_status, '—')}"


class StatusAccess(models.Model):
    """Append-only audit of staff reads of a person's status: who, when, why.

    Who is kept twice: the account (a link, for lookups) and a snapshot of its username and
    organisation as they were at the read, which renaming the account or moving it to another
    organisation does not rewrite.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("查询人"), on_delete=models.PROTECT, related_name="+")
    username = models.CharField(_("查询人账号（查询时）"), max_length=150, blank=True)
    organisation_name = models.CharField(_("查询人机构（查询时）"), max_length=200, blank=True)
    organisation_kind = models.CharField(_("机构类型（查询时）"), max_length=24, blank=True)
    person = models.ForeignKey(Person, verbose_name=_("被查询人员"), on_delete=models.CASCADE, related_name="+")
    accessed_at = models.DateTimeField(_("查询时间"), auto_now_add=True)
    channel = models.CharField(_("渠道"), max_length=16)  # "api" | "admin"
    # Where the status was shown, in the words staff read (health.status_reads.Screen): a snapshot.
    screen = models.CharField(_("查看页面"), max_length=100, blank=True)
    purpose = models.CharField(_("事由"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("状态查询记录")
        verbose_name_plural = _("状态查询记录")
        ordering = ["-accessed_at"]
        indexes = [models.Index(fields=["person", "-accessed_at"], name="statusaccess_person_time")]

    def __str__(self) -> str:
        return f"{self.user} → {self.person_id} @ {beijing_time(self.accessed_at)}"


class StatusCorrectionRequest(models.Model):
    """A resident's request to look again at their status, routed to the organisation that can act on it.

    Routed by the rule that decided the status (health.engine.rules.responsible): the health
    authority, the quarantining or managing community, border control or the platform; resolved
    there with a comment, or passed on by the receiver to another organisation.
    """

    class State(models.TextChoices):
        OPEN = "open", _("待处理")
        RESOLVED = "resolved", _("已处理")

    person = models.ForeignKey(
        Person, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="correction_requests"
    )
    # The routed organisation, denormalised so that the queue's row-level filter is this one column.
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("处理机构"), on_delete=models.PROTECT, related_name="correction_requests"
    )
    message = models.TextField(_("申请说明"), max_length=1000)
    submitted_at = models.DateTimeField(_("提交时间"))
    status_at_submission = models.CharField(_("提交时的健康状态"), max_length=24, blank=True)
    reasons_at_submission = models.JSONField(_("提交时的判定依据"), default=list, blank=True)
    state = models.CharField(_("处理状态"), max_length=8, choices=State.choices, default=State.OPEN)
    resolution_comment = models.TextField(_("处理意见"), max_length=1000, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("处理人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    # Set when a receiver passes the request on (why, and to whom is `organisation`); every change,
    # with who made it, is in the history table.
    routing_note = models.CharField(_("转交说明"), max_length=255, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("状态更正申请")
        verbose_name_plural = _("状态更正申请")
        ordering = ["-submitted_at", "-pk"]
        indexes = [
            models.Index(fields=["organisation", "state", "-submitted_at"], name="correction_queue"),
            models.Index(fields=["person", "state"], name="correction_person_state"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="open", resolved_at__isnull=True, resolved_by__isnull=True)
                | Q(state="resolved", resolved_at__isnull=False),
                name="correction_resolved_fields_match_state",
            ),
            models.CheckConstraint(condition=Q(state__in=["open", "resolved"]), name="correction_state_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.person} {beijing_time(self.submitted_at)} {self.get_state_display()}"


class MachineKey(AbstractAPIKey):
    """The API key of a system (the platform's feed, a hotel's property-management system).

    It acts as its machine account (a staff account of that organisation) on the endpoints of its
    organisation's kind only (health.auth.MACHINE_KEY_SCOPES); stored as prefix + SHA-512 digest by
    djangorestframework-api-key, shown once when made or rotated.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("系统账号"), on_delete=models.CASCADE, related_name="machine_keys"
    )
    last_used_at = models.DateTimeField(_("最近使用时间"), null=True, blank=True)
    rotated_from = models.ForeignKey(
        "self", verbose_name=_("轮换自"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("系统接入密钥")
        verbose_name_plural = _("系统接入密钥")


class StatusVerification(models.Model):
    """One run of the status verifier: how many stored statuses it re-decided and how many had drifted.

    The dashboard shows the latest run; the mismatches themselves are logged (masked ID numbers) and
    a few are kept here for the health department, masked as well.
    """

    class Scope(models.TextChoices):
        SAMPLE = "sample", _("抽查")
        ALL = "all", _("全量")

    scope = models.CharField(_("范围"), max_length=8, choices=Scope.choices)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("结束时间"))
    checked = models.PositiveIntegerField(_("校验人数"))
    mismatches = models.PositiveIntegerField(_("不一致人数"))
    # Of those, a different status or reasons (the rest differ in valid_until or the review flag only).
    decisions_differ = models.PositiveIntegerField(_("状态或依据不一致人数"), default=0)
    # Changed while being checked (a write committed meanwhile): its own recompute follows, not drift.
    in_flight = models.PositiveIntegerField(_("校验中发生变更"), default=0)
    repaired = models.PositiveIntegerField(_("已标记重算"), default=0)
    examples = models.JSONField(_("不一致示例"), default=list, blank=True)

    class Meta:
        verbose_name = _("状态校验记录")
        verbose_name_plural = _("状态校验记录")
        ordering = ["-finished_at", "-pk"]
        indexes = [models.Index(fields=["-finished_at"], name="verification_finished")]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.checked} / {self.mismatches}"


class PersonAlias(models.Model):
    """Another document's digest that leads to a kept person: left by a merge (health.services.merge).

    A later record, query or declaration under that document lands on the kept person; the name
    registered under it (normal form) is the one the public must give with that document.
    """

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("人员"))
    digest = models.CharField(_("证件摘要"), max_length=64, unique=True, editable=False)
    name = models.CharField(_("姓名"), max_length=64, editable=False)
    id_masked = models.CharField(_("证件号码"), max_length=24, editable=False)
    document_type = models.CharField(_("证件类型"), max_length=32, editable=False)
    nationality = models.CharField(_("国籍"), max_length=3, blank=True, editable=False, default="")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("人员的其他证件")
        verbose_name_plural = _("人员的其他证件")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} {self.id_masked}"


class PersonMerge(models.Model):
    """Append-only audit of a merge: who merged which person into which, why, and what moved."""

    kept = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="merges", verbose_name=_("保留的人员"), editable=False
    )
    merged_name = models.CharField(_("并入人员姓名"), max_length=64, editable=False)
    merged_masked = models.CharField(_("并入人员证件号码"), max_length=24, editable=False)
    merged_document_type = models.CharField(_("并入人员证件类型"), max_length=32, editable=False)
    merged_person_id = models.BigIntegerField(_("并入人员编号"), editable=False)
    reason = models.CharField(_("合并原因"), max_length=255, editable=False)
    moved = models.JSONField(_("移动的记录"), default=dict, editable=False)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("操作人"), editable=False
    )
    merged_at = models.DateTimeField(_("合并时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("人员合并记录")
        verbose_name_plural = _("人员合并记录")
        ordering = ["-merged_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.merged_name} {self.merged_masked} → {self.kept}"
