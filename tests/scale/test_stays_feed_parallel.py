"""Stays files checked in several processes: the same answer as one process, the same report for a bad file."""

import csv
import json
import pickle
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from entrants.feed import FeedRejected
from health import feeds
from health.feeds import feed_import, stays_validate
from health.identity import id_number_digest
from health.models import HealthStatus, ItineraryStay, Person
from tests import factories

pytestmark = pytest.mark.django_db
HEADER = ["name", "id_number", "city_code", "arrived_at", "left_at"]
CITIES = ["110105", "130102", "120101", "110108"]


@pytest.fixture
def parallel(monkeypatch):
    """Any file large enough for several processes (the threshold is for production sizes)."""
    monkeypatch.setattr(feeds, "PARALLEL_MIN_BYTES", 0)


def stay_rows(count: int, *, persons: int) -> list[list[str]]:
    """`count` valid rows for `persons` persons, every person on rows in both halves of the file."""
    now = timezone.now().replace(microsecond=0)
    numbers = [factories.id_number(serial=serial) for serial in range(persons)]
    rows = []
    for index in range(count):
        arrived = now - timedelta(days=10, minutes=index)
        left = "" if index % 3 == 0 else (arrived + timedelta(hours=5)).isoformat()
        rows.append([f"人{index % persons}", numbers[index % persons], CITIES[index % 4], arrived.isoformat(), left])
    return rows


def write_csv(path, rows, *, line_end="\n", bom=False):
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as output:
        writer = csv.writer(output, lineterminator=line_end)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def rejection(path, feed_format="csv", *, processes):
    with pytest.raises(FeedRejected) as raised:
        stays_validate(path, feed_format, processes=processes)
    return raised.value


@pytest.mark.parametrize(("line_end", "bom"), [("\n", False), ("\r\n", True)])
def test_a_file_checked_in_two_processes_gives_what_one_process_gives(tmp_path, parallel, line_end, bom):
    # given a file of 400 stays of 30 persons
    path = write_csv(tmp_path / "stays.csv", stay_rows(400, persons=30), line_end=line_end, bom=bom)

    # when it is checked by one process, then by two
    one = stays_validate(path, "csv", processes=1)
    two = stays_validate(path, "csv", processes=2)

    # then two parts were checked, and the persons (with their first lines) and stays are the same
    assert (len(one.stays), len(two.stays)) == (1, 2)
    assert two.rows == one.rows == 400
    assert two.persons == one.persons
    assert len(two.persons) == 30
    assert list(two.stay_rows()) == list(one.stay_rows())
    assert [row[0] for row in two.stay_rows()] == list(range(2, 402))


def test_a_json_lines_file_is_checked_in_two_processes_too(tmp_path, parallel):
    rows = stay_rows(200, persons=20)
    path = tmp_path / "stays.jsonl"
    path.write_text(
        "\n".join(json.dumps(dict(zip(HEADER, row, strict=True)), ensure_ascii=False) for row in rows) + "\n",
        encoding="utf-8",
    )

    one = stays_validate(path, "jsonl", processes=1)
    two = stays_validate(path, "jsonl", processes=2)

    assert (len(one.stays), len(two.stays)) == (1, 2)
    assert list(two.stay_rows()) == list(one.stay_rows())
    assert two.persons == one.persons


def test_bad_rows_in_the_second_part_are_reported_as_one_process_reports_them(tmp_path, parallel):
    # given a file whose second half has another name for the first row's number, and an unknown city
    rows = stay_rows(400, persons=30)
    rows[300][0] = "别名"
    rows[350][2] = "999999"
    path = write_csv(tmp_path / "stays.csv", rows)

    # when it is checked by two processes
    two = rejection(path, processes=2)

    # then the report is the one-process report: the lines of the whole file, the first line of the name
    one = rejection(path, processes=1)
    assert (two.rejected, two.total) == (one.rejected, one.total)
    assert two.rejected == [
        {"line": 302, "errors": {"name": ["同一身份证号码在第 2 行的姓名不同。"]}},
        {"line": 352, "errors": {"city_code": ["未知的区划代码。"]}},
    ]
    assert two.total == 2


def test_a_name_that_differs_only_between_the_parts_is_found(tmp_path, parallel):
    # given one number under one name in the first half and another name in the whole second half
    number = factories.id_number()
    now = timezone.now()
    rows = [["张三" if index < 100 else "李四", number, "110105", (now - timedelta(minutes=index + 1)).isoformat(), ""]
            for index in range(200)]  # fmt: skip
    path = write_csv(tmp_path / "stays.csv", rows)

    # when it is checked by two processes, then every row of the other name is reported, naming line 2
    rejected = rejection(path, processes=2)
    assert rejected.total == 100
    assert rejected.rejected[0] == {"line": 102, "errors": {"name": ["同一身份证号码在第 2 行的姓名不同。"]}}
    assert number not in json.dumps(rejected.rejected, ensure_ascii=False)


def test_a_report_is_capped_but_counts_every_bad_line(tmp_path, parallel, monkeypatch):
    monkeypatch.setattr(feeds, "REPORT_MAX", 3)
    rows = stay_rows(100, persons=10)
    for row in rows[::10]:
        row[2] = "999999"
    path = write_csv(tmp_path / "stays.csv", rows)

    rejected = rejection(path, processes=2)

    assert [row["line"] for row in rejected.rejected] == [2, 12, 22]
    assert rejected.total == 10


def test_the_plain_number_is_not_kept_only_its_digest_and_masked_form(tmp_path, parallel):
    number = factories.id_number()
    rows = [
        ["张三", number, "110105", (timezone.now() - timedelta(hours=hour + 1)).isoformat(), ""] for hour in range(50)
    ]
    path = write_csv(tmp_path / "stays.csv", rows)

    valid = stays_validate(path, "csv", processes=2)

    born = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"  # the birth date, kept for likely duplicates
    assert valid.persons == {
        id_number_digest(number): ("张三", number[:6] + "********" + number[-4:], 2, "resident_id", "", born)
    }
    assert number.encode() not in pickle.dumps(valid)


def test_a_quoted_csv_file_or_a_small_file_is_checked_by_one_process(tmp_path, monkeypatch):
    rows = stay_rows(100, persons=10)
    # Written quoted: a quoted field may hold a line break, so a part could not start at any line.
    rows[5][:2] = ["张, 三", factories.id_number(serial=999)]
    quoted = write_csv(tmp_path / "quoted.csv", rows)
    small = write_csv(tmp_path / "small.csv", stay_rows(10, persons=3))

    monkeypatch.setattr(feeds, "PARALLEL_MIN_BYTES", 0)
    assert len(stays_validate(quoted, "csv", processes=2).stays) == 1
    monkeypatch.setattr(feeds, "PARALLEL_MIN_BYTES", small.stat().st_size + 1)
    assert len(stays_validate(small, "csv", processes=2).stays) == 1


def test_a_file_checked_in_parallel_is_imported_and_the_connection_still_serves(tmp_path, parallel):
    # given a file checked by forked processes (which must never touch this process's connection)
    path = write_csv(tmp_path / "stays.csv", stay_rows(120, persons=12))

    # when it is imported
    result = feed_import(kind="stays", path=path)

    # then it is written, and this process's connection still answers
    assert result == {"rows": 120, "written": 120, "persons": 12}
    assert ItineraryStay.objects.count() == 120
    assert HealthStatus.objects.filter(dirty=True).count() == 12
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_stay_repeated_in_a_file_is_written_once_from_its_last_line(tmp_path):
    number = factories.id_number()
    arrived = timezone.now().replace(microsecond=0) - timedelta(days=2)
    rows = [
        ["张三", number, "110105", arrived.isoformat(), (arrived + timedelta(hours=1)).isoformat()],
        ["张三", number, "110105", arrived.astimezone(timezone.get_fixed_timezone(0)).isoformat(), ""],
    ]
    path = write_csv(tmp_path / "stays.csv", rows)

    result = feed_import(kind="stays", path=path)

    assert (result["rows"], result["written"]) == (2, 1)
    assert ItineraryStay.objects.get().left_at is None


def test_names_contradicting_stored_persons_are_all_counted_and_a_repeated_stay_named_once(tmp_path, monkeypatch):
    # given a stored person and a file naming that number otherwise on four lines, one stay repeated
    monkeypatch.setattr(feeds, "REPORT_MAX", 2)
    number = factories.id_number()
    Person.objects.create(name="王五", id_digest=id_number_digest(number), id_masked="x")
    now = timezone.now().replace(microsecond=0)
    first, second, third = (now - timedelta(days=days) for days in (3, 2, 1))
    rows = [["王六", number, "110105", moment.isoformat(), ""] for moment in (first, second, first, third)]
    path = write_csv(tmp_path / "stays.csv", rows)

    # when it is imported
    with pytest.raises(FeedRejected) as raised:
        feed_import(kind="stays", path=path)

    # then the lines written for that person are counted (the repeated stay by its last line), the first two listed
    assert raised.value.total == 3
    assert raised.value.rejected == [
        {"line": 3, "errors": {"name": ["该身份证号码已登记为另一姓名。"]}},
        {"line": 4, "errors": {"name": ["该身份证号码已登记为另一姓名。"]}},
    ]
    assert ItineraryStay.objects.count() == 0
