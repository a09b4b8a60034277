"""A synthetic city for demos and benchmarks: persons with every kind of record, written in bulk.

Deterministic: generated person number `n` always has the same name and ID number
(`person_identity`), so a benchmark can query persons it did not keep. The ID numbers are
valid (GB 11643 check character) but synthetic, and like every other ID number only their
keyed digest and masked form are stored. Records are written with COPY (PostgreSQL) or batched
inserts (SQLite), bypassing the services: the generator is trusted to produce valid rows, and
the statuses are then computed by the one recompute path.
"""
from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from stdnum.cn import ric

from health import bulk
from health.identity import id_number_digest, id_number_mask
from health.models import (
    Designation,
    HealthStatus,
    ItineraryDeclaration,
    ItineraryStay,
    Organisation,
    Person,
    RiskArea,
)

# Generated persons are numbered across runs (a rerun adds persons after the last one): the ID
# number's serial holds the number's hundredth and its 25,000-day birth-date cycle.
MAX_PERSONS = 25_000_000
CHUNK = 50_000

BEIJING_DISTRICTS = [
    "110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111",
    "110112", "110113", "110114", "110115", "110116", "110117", "110118", "110119",
]  # fmt: skip
JJJ_ELSEWHERE = ["120101", "120103", "130102", "130104", "130203", "130602"]
OUTSIDE = ["310101", "440305", "420106", "330106", "510104"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥玲芬燕鹏辉波斌宇浩凯健俊帆帅旭"
RISK_AREAS = [  # (region, level, started days ago, ended days ago or None)
    ("130104", "high", 6, None),
    ("420106", "high", 20, None),
    ("310101", "medium", 30, 4),
    ("110114", "medium", 3, None),
    ("440305", "medium", 40, 25),
]


# A home district per hundredth of the population: 朝阳 (110105) holds a tenth of it, as a large
# district does, so that one district's risk designation reaches about 100,000 persons of a million.
# Birthplace codes valid for every birth year drawn (1950-2018): the districts that existed then.
_OTHER_DISTRICTS = ["110101", "110102", "110106", "110107", "110108", "110109"]
_HOME_BY_BUCKET = ["110105"] * 10 + [_OTHER_DISTRICTS[i % len(_OTHER_DISTRICTS)] for i in range(90)]


def person_identity(number: int) -> tuple[str, str]:
    """(name, ID number) of generated person `number`: the same on every run, unique up to MAX_PERSONS."""
    bucket, rest = number % 100, number // 100
    born = date(1950, 1, 1) + timedelta(days=rest % 25_000)
    serial = bucket * 10 + rest // 25_000
    body = f"{_HOME_BY_BUCKET[bucket]}{born:%Y%m%d}{serial:03d}"
    name = SURNAMES[number % len(SURNAMES)] + GIVEN[(number // 7) % len(GIVEN)] + GIVEN[(number // 131) % len(GIVEN)]
    return name, body + ric.calc_check_digit(body + "0")


def persons_generated() -> int:
    """How many generated persons exist (numbers 0..k-1 are written in order: found by bisection)."""
    def exists(number: int) -> bool:
        return Person.objects.filter(id_digest=id_number_digest(person_identity(number)[1])).exists()

    if not exists(0):
        return 0
    low, high = 1, MAX_PERSONS
    done = 1
    while low <= high:
        middle = (low + high) // 2
        if exists(middle - 1):
            done, low = middle, middle + 1
        else:
            high = middle - 1
    return done


@dataclass
class Counts:
    persons: int = 0
    stays: int = 0
    declarations: int = 0
    quarantines: int = 0
    checkins: int = 0
    nat_tests: int = 0
    inbound_cases: int = 0
    designations: int = 0
    risk_areas: int = 0
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "extra"}


def _organisations(persons: int) -> dict[str, list[int]]:
    """Departments, and enough communities and hotels for the population (created once, reused)."""
    wanted = {
        Organisation.Kind.COMMUNITY: max(5, min(400, persons // 5000)),
        Organisation.Kind.HOTEL: max(3, min(200, persons // 10000)),
    }
    found: dict[str, list[int]] = {}
    for kind in (Organisation.Kind.HEALTH, Organisation.Kind.BORDER, Organisation.Kind.PLATFORM):
        organisation, _ = Organisation.objects.get_or_create(kind=kind, code=kind, defaults={"name": kind.label})
        found[kind] = [organisation.pk]
    for kind, count in wanted.items():
        prefix = "GEN-C" if kind == Organisation.Kind.COMMUNITY else "GEN-H"
        label = "模拟社区" if kind == Organisation.Kind.COMMUNITY else "模拟酒店"
        ids = []
        for number in range(count):
            organisation, _ = Organisation.objects.get_or_create(
                kind=kind,
                code=f"{prefix}{number:03d}",
                defaults={"name": f"{label}{number:03d}", "region_id": BEIJING_DISTRICTS[number % len(BEIJING_DISTRICTS)]},
            )
            ids.append(organisation.pk)
        found[kind] = ids
    return found


def _risk_areas(now: datetime, health_id: int) -> int:
    created = 0
    for region, level, started, ended in RISK_AREAS:
        start = (now - timedelta(days=started)).replace(minute=0, second=0, microsecond=0)
        _, new = RiskArea.objects.get_or_create(
            region_id=region,
            effective_from=start,
            defaults={
                "level": level,
                "effective_to": (now - timedelta(days=ended)) if ended is not None else None,
                "organisation_id": health_id,
            },
        )
        created += new
    return created


_TABLES = (
    "health_person", "health_healthstatus", "health_itinerarystay", "health_itinerarydeclaration",
    "health_designation", "communities_quarantinerecord", "hotels_checkin", "hotels_nucleicacidtest",
    "entrants_inboundcase",
)  # fmt: skip


def population_generate(
    *,
    persons: int,
    seed: int = 0,
    now: datetime | None = None,
    compute: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Counts:
    """Add `persons` synthetic persons with their records; then compute their statuses (unless compute=False).

    The seed drives the records drawn for them; the persons themselves are numbered after those
    already generated, so that runs add up and never collide.
    """
    now = now or timezone.now()
    say = progress or (lambda _message: None)
    done = persons_generated()
    if done + persons > MAX_PERSONS:
        raise ValueError(f"at most {MAX_PERSONS} generated persons")
    counts = Counts()
    organisations = _organisations(done + persons)
    counts.risk_areas = _risk_areas(now, organisations[Organisation.Kind.HEALTH][0])
    rng = random.Random(seed * 1_000_003 + done)
    first_new_id = None
    for start in range(done, done + persons, CHUNK):
        stop = min(done + persons, start + CHUNK)
        with transaction.atomic():
            first_id = bulk.sequence_reserve(Person._meta.db_table, stop - start)
            if first_new_id is None:
                first_new_id = first_id
            _chunk_write(start, stop, first_id, now=now, rng=rng, organisations=organisations, counts=counts)
        say(f"{stop - done} / {persons} persons written")
    if bulk.is_postgresql():
        # Fresh statistics for the tables just filled: the planner must see a million rows, not none.
        from django.db import connection

        with connection.cursor() as cursor:
            for table in _TABLES:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    if compute and first_new_id is not None:
        from health.services.statuses import person_id_chunks, policy_current, risk_areas_current, statuses_recompute

        policy = policy_current()
        risks = risk_areas_current(now=now, policy=policy)
        computed = 0
        for ids in person_id_chunks(chunk_size=5000, dirty=True):
            statuses_recompute(ids, now=now, cause="generated", policy=policy, risk_areas=risks)
            computed += len(ids)
            if computed % 100_000 < 5000:
                say(f"{computed} statuses computed")
    return counts


def _chunk_write(
    start: int,
    stop: int,
    first_id: int,
    *,
    now: datetime,
    rng: random.Random,
    organisations: dict[str, list[int]],
    counts: Counts,
) -> None:
    people, statuses, stays, declarations = [], [], [], []
    quarantines, checkins, tests, inbound, designations = [], [], [], [], []
    communities = organisations[Organisation.Kind.COMMUNITY]
    hotels = organisations[Organisation.Kind.HOTEL]
    border = organisations[Organisation.Kind.BORDER][0]
    health = organisations[Organisation.Kind.HEALTH][0]
    hours = timedelta(hours=1)
    days = timedelta(days=1)
    today = now.astimezone(timezone.get_fixed_timezone(480)).date()
    for number in range(start, stop):
        person_id = first_id + (number - start)
        name, id_number = person_identity(number)
        home = id_number[:6]
        people.append((person_id, name, id_number_digest(id_number), id_number_mask(id_number), now))
        statuses.append((person_id, "popup", "[]", False, True, "generated", 1, 0))
        # Itinerary: everyone lives somewhere; some travel within JJJ, some beyond, some only long ago.
        profile = rng.random()
        cities = {"110000"}
        if profile < 0.60:
            stays.append((person_id, home, now - rng.randint(20, 400) * days, None))
        elif profile < 0.85:
            away = rng.choice(JJJ_ELSEWHERE)
            left_home = now - rng.randint(4, 12) * days - rng.randint(0, 23) * hours
            back = left_home + rng.randint(1, 3) * days
            stays.append((person_id, home, left_home - rng.randint(30, 300) * days, left_home))
            stays.append((person_id, away, left_home + 2 * hours, back))
            stays.append((person_id, home, back + 2 * hours, None))
            cities.add(away[:4] + "00" if away[:2] == "13" else away[:2] + "0000")
        elif profile < 0.95:
            away = rng.choice(OUTSIDE)
            left_home = now - rng.randint(3, 13) * days
            stays.append((person_id, away, left_home, left_home + rng.randint(1, 2) * days))
            stays.append((person_id, home, left_home + 3 * days, None))
            cities.add(away[:2] + "0000" if away[:2] == "31" else away[:4] + "00")
        else:
            old = now - rng.randint(40, 120) * days
            stays.append((person_id, rng.choice(JJJ_ELSEWHERE + OUTSIDE), old, old + rng.randint(1, 5) * days))
            stays.append((person_id, home, old + 6 * days, None))
        if rng.random() < 0.45:
            declared = sorted(cities) if rng.random() > 0.05 else ["110000"]
            declarations.append((person_id, now - rng.randint(0, 48) * hours, json.dumps(declared)))
        # Records of the communities, hotels, border and health authority for a few.
        # The first persons of every chunk have one record of each kind: a small city has them all.
        forced = number - start
        if forced == 1 or rng.random() < 0.005:
            started = now - rng.randint(1, 20) * days
            lifted = started + rng.randint(1, 14) * days if rng.random() < 0.4 else None
            quarantines.append(
                (
                    person_id,
                    rng.choice(communities),
                    "centralized" if rng.random() < 0.3 else "home",
                    started,
                    started + 14 * days,
                    lifted if lifted is None or lifted <= now else None,
                    now,
                    now,
                )
            )
        if forced == 2 or rng.random() < 0.01:
            checked_in = now - rng.randint(0, 120) * hours
            out = checked_in + rng.randint(6, 72) * hours if rng.random() < 0.5 else None
            checkins.append(
                (
                    person_id,
                    rng.choice(hotels),
                    checked_in,
                    out if out is None or out <= now else None,
                    rng.choice(["110105", "130102", "310101", "440305"]),
                    profile < 0.9,
                    now,
                )
            )
            draw = rng.random()
            if draw < 0.8:
                tests.append((person_id, len(checkins) - 1, checked_in - rng.randint(1, 5) * days, "negative", "certificate"))
            elif draw < 0.98:
                tests.append((person_id, len(checkins) - 1, checked_in + hours, "negative", "hotel"))
            else:
                tests.append((person_id, len(checkins) - 1, checked_in + hours, "positive", "hotel"))
        if forced == 3 or rng.random() < 0.003:
            entered = (now - rng.randint(1, 40) * days).astimezone(timezone.get_fixed_timezone(480)).date()
            ended_at = datetime.combine(entered + timedelta(days=14), datetime.min.time(), tzinfo=timezone.get_fixed_timezone(480)) + 10 * hours
            ended = ended_at if ended_at <= now else None
            city_on = (ended_at.date() + timedelta(days=rng.choice([0, 0, 1, 3]))) if ended is not None else None
            if city_on is not None and city_on > today:
                city_on = None
            managed = rng.random() < 0.5
            released = ended if managed and ended is not None and rng.random() < 0.3 else None
            inbound.append(
                (
                    person_id,
                    entered,
                    "首都国际机场",
                    rng.choice(["US", "GB", "JP", "KR", "DE"]),
                    ended,
                    ended.astimezone(timezone.get_fixed_timezone(480)).date() if ended else None,
                    city_on,
                    rng.choice(communities) if managed else None,
                    border,
                    released,
                    released.astimezone(timezone.get_fixed_timezone(480)).date() if released else None,
                    now,
                    now,
                )
            )
        if forced == 4 or rng.random() < 0.0005:
            designated = now - rng.randint(1, 10) * days
            cleared = designated + rng.randint(3, 14) * days if rng.random() < 0.3 else None
            designations.append(
                (person_id, rng.choice(["confirmed", "suspected", "close_contact", "asymptomatic"]), designated, cleared, now, health)
            )

    copy = bulk.copy_rows
    copy(Person._meta.db_table, ["id", "name", "id_digest", "id_masked", "created_at"], people)
    copy(
        HealthStatus._meta.db_table,
        ["person_id", "status", "reasons", "needs_review", "dirty", "dirty_cause", "inputs_version", "computed_version"],
        statuses,
    )
    copy(
        ItineraryStay._meta.db_table,
        ["person_id", "region_id", "arrived_at", "left_at", "source", "received_at"],
        ((p, r, a, left, "platform", now) for p, r, a, left in stays),
    )
    copy(ItineraryDeclaration._meta.db_table, ["person_id", "declared_at", "region_codes"], declarations)
    copy(Designation._meta.db_table, ["person_id", "kind", "designated_at", "cleared_at", "created_at", "organisation_id"], designations)
    from communities.models import QuarantineRecord
    from entrants.models import InboundCase
    from hotels.models import CheckIn, NucleicAcidTest

    copy(
        QuarantineRecord._meta.db_table,
        ["person_id", "community_id", "kind", "started_at", "planned_end_at", "lifted_at", "created_at", "updated_at"],
        quarantines,
    )
    if checkins:
        first_checkin = bulk.sequence_reserve(CheckIn._meta.db_table, len(checkins))
        copy(
            CheckIn._meta.db_table,
            ["id", "person_id", "hotel_id", "checked_in_at", "checked_out_at", "origin_region_id", "health_management_accepted", "created_at"],
            ((first_checkin + i, *row) for i, row in enumerate(checkins)),
        )
        copy(
            NucleicAcidTest._meta.db_table,
            ["person_id", "checkin_id", "hotel_id", "sampled_at", "result", "source", "recorded_at"],
            (
                (p, first_checkin + index, checkins[index][1], sampled, result, source, max(now, sampled))
                for p, index, sampled, result, source in tests
            ),
        )
    copy(
        InboundCase._meta.db_table,
        [
            "person_id", "entered_country_on", "port_of_entry", "origin_country", "quarantine_ended_at",
            "quarantine_ended_on", "entered_city_on", "managing_community_id", "border_id", "released_at",
            "released_on", "created_at", "updated_at",
        ],  # fmt: skip
        inbound,
    )
    counts.persons += len(people)
    counts.stays += len(stays)
    counts.declarations += len(declarations)
    counts.quarantines += len(quarantines)
    counts.checkins += len(checkins)
    counts.nat_tests += len(tests)
    counts.inbound_cases += len(inbound)
    counts.designations += len(designations)
