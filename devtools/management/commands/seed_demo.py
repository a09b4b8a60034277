"""Load demo data for the embedded mode: organisations, staff accounts, and persons in every status.

Everything goes through the same services that users call, so the statuses are computed by the
real pipeline. Idempotent: a second run loads nothing new and prints the same credentials, which
are kept in var/demo-credentials.json (never in the repository).
"""
import json
import secrets
from datetime import date, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric

from communities.models import QuarantineRecord
from communities.services import community_create, quarantine_lift, quarantine_register
from entrants.services import inbound_register
from health.identity import document_clean
from health.models import HealthStatus, Organisation, Person, Region
from health.services.designations import designation_create
from health.services.itinerary import StayInput, declaration_submit, stays_ingest
from health.services.risk_areas import risk_area_create
from health.services.staff import staff_upsert
from health.services.statuses import statuses_recompute
from hotels.services import checkin_register, hotel_create

COMMUNITIES = [
    ("jianwai", "建外街道建国里社区", "110105"),
    ("zhongguancun", "中关村街道科源社区", "110108"),
]
HOTELS = [
    ("beijing-hotel", "北京饭店", "110101"),
    ("haidian-business", "海淀商务酒店", "110108"),
]
# username -> (organisation kind, organisation code); None = administrator
STAFF = {
    "admin": None,
    "jianwai": ("community", "jianwai"),
    "zhongguancun": ("community", "zhongguancun"),
    "beijing-hotel": ("hotel", "beijing-hotel"),
    "haidian-business": ("hotel", "haidian-business"),
    "health": ("health", "health"),
    "border": ("border", "border"),
    "platform": ("platform", "platform"),
}


def demo_id_number(serial: int) -> str:
    """A valid but fictitious ID number (Chaoyang, born 1985): never a real person's."""
    body = f"110105{date(1985, 1, 1) + timedelta(days=serial):%Y%m%d}{serial % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


class Command(BaseCommand):
    help = "Load demo organisations, staff accounts and persons in every status (idempotent)."

    def handle(self, *args, **options) -> None:
        credentials_file = settings.BASE_DIR / "var" / "demo-credentials.json"
        credentials = json.loads(credentials_file.read_text()) if credentials_file.exists() else {}
        if Organisation.objects.filter(kind="community", code=COMMUNITIES[0][0]).exists() and credentials:
            self.stdout.write("Demo data already loaded.")
        else:
            credentials = self.load()
            credentials_file.parent.mkdir(exist_ok=True)
            credentials_file.write_text(json.dumps(credentials, ensure_ascii=False, indent=2))
            credentials_file.chmod(0o600)
        self.stdout.write("Demo staff accounts (username / password):")
        for username, password in credentials.items():
            self.stdout.write(f"  {username:18s} {password}")

    @transaction.atomic
    def load(self) -> dict[str, str]:
        for code, name, region in COMMUNITIES:
            if not Organisation.objects.filter(kind="community", code=code).exists():
                community_create(code=code, name=name, region_code=region)
        for code, name, region in HOTELS:
            if not Organisation.objects.filter(kind="hotel", code=code).exists():
                hotel_create(code=code, name=name, region_code=region)
        credentials = {}
        for username, membership in STAFF.items():
            password = secrets.token_urlsafe(12)
            organisation = Organisation.objects.get(kind=membership[0], code=membership[1]) if membership else None
            staff_upsert(username=username, password=password, organisation=organisation, admin=membership is None)
            credentials[username] = password
        if not Person.objects.exists():
            self.persons()
        return credentials

    def persons(self) -> None:
        from django.contrib.auth import get_user_model

        admin = get_user_model().objects.get(username="admin")
        now = timezone.now()
        ago = lambda **kw: now - timedelta(**kw)  # noqa: E731
        jianwai = Organisation.objects.get(kind="community", code="jianwai")
        hotel = Organisation.objects.get(kind="hotel", code="beijing-hotel")
        serial = iter(range(1, 10_000))

        def person(name: str) -> tuple[str, str]:
            return name, demo_id_number(next(serial))

        # 未见异常 (G3): Beijing for a week, itinerary declared.
        for name in ("王芳", "李娜", "张伟"):
            name, number = person(name)
            stays_ingest(actor=admin, stays=[StayInput(name, number, "110105", ago(days=7))])
            declaration_submit(name=name, id_number=number, region_codes=["110000"], declared_at=ago(hours=1))
        # 弹窗 (P): a stay in Shanghai; and someone with no data at all.
        name, number = person("刘洋")
        stays_ingest(actor=admin, stays=[StayInput(name, number, "310115", ago(days=5), ago(days=2))])
        declaration_submit(name=name, id_number=number, region_codes=["310000"], declared_at=ago(hours=2))
        # 居家观察 (R2) and, lifted, 未见异常 (G1).
        name, number = person("陈静")
        quarantine_register(
            actor=admin, community=jianwai, person_name=name, id_number=number, kind="home",
            started_at=ago(days=10), planned_end_at=now + timedelta(days=4),
        )
        name, number = person("杨磊")
        quarantine_register(
            actor=admin, community=jianwai, person_name=name, id_number=number, kind="home",
            started_at=ago(days=14), planned_end_at=now,
        )
        name, number = person("赵敏")
        record = quarantine_register(
            actor=admin, community=jianwai, person_name=name, id_number=number, kind="centralized",
            started_at=ago(days=14), planned_end_at=ago(hours=2),
        )
        quarantine_lift(actor=admin, record=QuarantineRecord.objects.get(pk=record.pk), lifted_at=ago(hours=1))
        # 集中观察 (R1): a close contact designated by the health authority.
        name, number = person("黄强")
        designation_create(actor=admin, kind="close_contact", designated_at=ago(days=1), name=name, id_number=number)
        # 未见异常 (G2): a hotel guest with a certificate; 弹窗 (R3): a positive hotel test.
        name, number = person("周杰")
        checkin_register(
            actor=admin, hotel=hotel, person_name=name, id_number=number, checked_in_at=ago(hours=3),
            origin_region_code="130102", health_management_accepted=True,
            nat_tests=[{"sampled_at": ago(days=2), "result": "negative", "source": "certificate"}],
        )
        name, number = person("吴霞")
        checkin_register(
            actor=admin, hotel=hotel, person_name=name, id_number=number, checked_in_at=ago(hours=30),
            origin_region_code="120101", health_management_accepted=True,
            nat_tests=[{"sampled_at": ago(hours=20), "result": "positive", "source": "hotel"}],
        )
        # 弹窗 (R4): an inbound traveller under community management, not yet released.
        name, number = person("孙悦")
        inbound_register(
            actor=admin, person_name=name, id_number=number, entered_country_on=(now - timedelta(days=16)).date(),
            port="首都机场", origin_country="SG", community_code="jianwai",
            quarantine_ended_at=ago(days=2), entered_city_on=(now - timedelta(days=2)).date(),
        )
        # Travellers and guests with other documents (issue 15): a foreign business traveller checked in
        # by passport (未见异常 with a certificate), and a passport-holding inbound traveller under the
        # community's management (弹窗, R4), queried by passport once released.
        checkin_register(
            actor=admin, hotel=hotel, person_name="John SMITH", checked_in_at=ago(hours=5),
            id_number=document_clean("passport", number="GB1234567", nationality="GBR", birth_date=date(1978, 4, 2)),
            origin_region_code="130102", health_management_accepted=True,
            nat_tests=[{"sampled_at": ago(days=1), "result": "negative", "source": "certificate"}],
        )
        inbound_register(
            actor=admin, person_name="Anna MÜLLER",
            id_number=document_clean("passport", number="C01X00T47", nationality="DEU", birth_date=date(1990, 9, 12)),
            entered_country_on=(now - timedelta(days=15)).date(), port="首都机场", origin_country="DE",
            community_code="jianwai", quarantine_ended_at=ago(days=1), entered_city_on=(now - timedelta(days=1)).date(),
        )
        # A medium-risk district outside JJJ; the Shanghai traveller is also 弹窗 for it.
        risk_area_create(
            actor=admin, region=Region.objects.get(code="310115"), level="medium", effective_from=ago(days=6)
        )
        transaction.on_commit(
            lambda: statuses_recompute(HealthStatus.objects.filter(dirty=True).values_list("person_id", flat=True))
        )
