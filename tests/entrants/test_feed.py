"""The border-control feed: every row validated first, then all written in one transaction, or none."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from entrants.models import InboundCase
from health.models import HealthStatus, Person
from tests import factories
from tests.entrants.conftest import bad_id_number, beijing, days_ago, utc

pytestmark = pytest.mark.django_db

URL = "/api/v1/entrants/import/"
HEADER = "name,id_number,entered_country_on,port,origin_country,community_code,quarantine_ended_at,entered_city_on"


def csv_line(name, number, entered, port="首都机场", country="GB", community="", ended="", city=""):
    return ",".join([name, number, entered, port, country, community, ended, city])


def good_rows(community_code: str) -> tuple[list[str], list[str]]:
    numbers = [factories.id_number() for _ in range(3)]
    ended = utc(beijing(days_ago(8), 23, 30)).isoformat()
    lines = [
        csv_line("张一", numbers[0], days_ago(22).isoformat(), ended=ended, city=days_ago(7).isoformat()),
        csv_line("张二", numbers[1], days_ago(20).isoformat(), port="浦东机场", country="jp", community=community_code),
        csv_line("张三", numbers[2], days_ago(5).isoformat(), country="DE"),
    ]
    return numbers, lines


def test_a_good_csv_file_writes_every_row_and_recomputes(client_for, border_staff, community, committed):
    # given a CSV file of three valid rows
    numbers, lines = good_rows(community.code)
    body = "\n".join([HEADER, *lines]) + "\n"

    # when border control posts it as the request body
    with committed():
        response = client_for(border_staff).generic("POST", URL, body.encode(), content_type="text/csv")

    # then every row is written, and every person's status recomputed on commit
    assert response.status_code == 201, response.json()
    assert response.json() == {"accepted": 3}
    cases = {case.person.name: case for case in InboundCase.objects.select_related("person", "managing_community")}
    assert set(cases) == {"张一", "张二", "张三"}
    assert cases["张二"].managing_community == community
    assert cases["张二"].origin_country == "JP"
    assert cases["张一"].quarantine_ended_on == days_ago(8)
    statuses = {s.person.name: (s.status, s.reasons, s.dirty) for s in HealthStatus.objects.select_related("person")}
    assert statuses == {
        "张一": ("no_abnormality", ["G1", "released_inbound"], False),
        "张二": ("popup", ["R4", "inbound_unreleased"], False),
        "张三": ("popup", ["R4", "inbound_unreleased"], False),
    }


def test_a_good_jsonl_upload_writes_every_row(client_for, border_staff, community):
    numbers = [factories.id_number() for _ in range(2)]
    rows = [
        {
            "name": "王一",
            "id_number": numbers[0],
            "entered_country_on": days_ago(10).isoformat(),
            "port": "首都机场",
            "origin_country": "FR",
        },
        {
            "name": "王二",
            "id_number": numbers[1],
            "entered_country_on": days_ago(10).isoformat(),
            "port": "首都机场",
            "origin_country": "FR",
            "community_code": community.code,
            "quarantine_ended_at": None,
        },
    ]
    upload = SimpleUploadedFile("feed.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode())

    response = client_for(border_staff).post(URL, {"file": upload}, format="multipart")

    assert response.status_code == 201, response.json()
    assert response.json() == {"accepted": 2}
    assert InboundCase.objects.count() == 2


def test_one_bad_row_rejects_the_whole_file_with_lines_and_reasons(client_for, border_staff, community, committed):
    # given a file whose rows 2 and 3 are good and rows 4, 5 and 6 are each bad in one way
    numbers, lines = good_rows(community.code)
    wrong_number = bad_id_number()
    entered = days_ago(10)
    bad = [
        csv_line("坏一", wrong_number, entered.isoformat()),
        csv_line("坏二", factories.id_number(), entered.isoformat(), country="ZZ"),
        csv_line("坏三", factories.id_number(), entered.isoformat(), ended=utc(beijing(days_ago(11), 12)).isoformat()),
    ]
    body = "\n".join([HEADER, lines[0], lines[1], *bad]) + "\n"
    persons_before = Person.objects.count()

    # when it is posted
    with committed():
        response = client_for(border_staff).generic("POST", URL, body.encode(), content_type="text/csv")

    # then nothing at all is written, and the report names each bad line and why
    assert response.status_code == 400
    report = response.json()["rejected"]
    assert [row["line"] for row in report] == [4, 5, 6]
    assert list(report[0]["errors"]) == ["id_number"]
    assert report[0]["errors"]["id_number"] == ["身份证号码校验位不正确。"]
    assert list(report[1]["errors"]) == ["origin_country"]
    assert report[2]["errors"] == {"quarantine_ended_at": ["集中隔离结束时间不能早于入境日期。"]}
    assert not InboundCase.objects.exists()
    assert Person.objects.count() == persons_before
    # and the report never repeats an ID number, good or bad
    text = response.content.decode()
    assert wrong_number not in text
    assert all(number not in text for number in numbers)


def test_cross_row_and_stored_conflicts_are_reported(client_for, border_staff, community):
    # given a person already known under another name, and a file that repeats an entry
    known = factories.id_number()
    client = client_for(border_staff)
    registered = {"name": "原名", "id_number": known}
    assert (
        client.post(
            "/api/v1/entrants/",
            {
                "person": registered,
                "entered_country_on": days_ago(3).isoformat(),
                "port": "首都机场",
                "origin_country": "GB",
            },
            format="json",
        ).status_code
        == 201
    )
    repeated = factories.id_number()
    body = "\n".join(
        [
            HEADER,
            csv_line("新名", known, days_ago(9).isoformat()),
            csv_line("甲", repeated, days_ago(9).isoformat()),
            csv_line("甲", repeated, days_ago(9).isoformat()),
            csv_line("乙", repeated, days_ago(8).isoformat()),
        ]
    )

    response = client.generic("POST", URL, body.encode(), content_type="text/csv")

    assert response.status_code == 400
    report = {row["line"]: row["errors"] for row in response.json()["rejected"]}
    assert report == {
        2: {"name": ["该身份证号码已登记为另一姓名。"]},
        4: {"entered_country_on": ["与第 3 行重复（同一人同一入境日期）。"]},
        5: {"name": ["同一身份证号码在第 3 行的姓名不同。"]},
    }
    assert InboundCase.objects.count() == 1


def test_a_resent_file_updates_and_never_duplicates(client_for, border_staff, community):
    # given a file imported once
    client = client_for(border_staff)
    numbers, lines = good_rows(community.code)
    assert client.generic("POST", URL, "\n".join([HEADER, *lines]).encode(), content_type="text/csv").status_code == 201

    # when it is sent again with the third row's arrival in Beijing added (and blanks elsewhere)
    city = days_ago(1).isoformat()
    third = csv_line("张三", numbers[2], days_ago(5).isoformat(), country="DE", city=city)
    response = client.generic(
        "POST", URL, "\n".join([HEADER, lines[0], lines[1], third]).encode(), content_type="text/csv"
    )

    # then the stored entries are updated, not duplicated, and blanks erase nothing
    assert response.status_code == 201
    assert InboundCase.objects.count() == 3
    assert InboundCase.objects.get(person__name="张三").entered_city_on == days_ago(1)
    assert InboundCase.objects.get(person__name="张一").quarantine_ended_on == days_ago(8)


@pytest.mark.parametrize(
    "body, expected",
    [
        ("name,id_number,port\n", {"line": 1}),
        ("name,id_number,entered_country_on,port,origin_country,secret\n", {"line": 1}),
    ],
)
def test_a_bad_header_rejects_the_file(client_for, border_staff, body, expected):
    response = client_for(border_staff).generic("POST", URL, body.encode(), content_type="text/csv")
    assert response.status_code == 400
    assert response.json()["rejected"][0]["line"] == expected["line"]
    assert "header" in response.json()["rejected"][0]["errors"]


def test_an_empty_file_is_400(client_for, border_staff):
    response = client_for(border_staff).generic("POST", URL, (HEADER + "\n").encode(), content_type="text/csv")
    assert response.status_code == 400
    assert "file" in response.json()


def test_jsonl_with_a_broken_line_reports_it(client_for, border_staff):
    good = {
        "name": "王一",
        "id_number": factories.id_number(),
        "entered_country_on": days_ago(3).isoformat(),
        "port": "p",
        "origin_country": "FR",
    }
    body = "\n".join([json.dumps(good, ensure_ascii=False), "{not json", "", json.dumps({**good, "extra": 1})])

    response = client_for(border_staff).generic("POST", URL, body.encode(), content_type="application/x-ndjson")

    assert response.status_code == 400
    assert [row["line"] for row in response.json()["rejected"]] == [2, 4]
    assert not InboundCase.objects.exists()


@pytest.mark.parametrize("who", ["community_staff", "hotel_staff"])
def test_only_border_and_admin_may_import(request, client_for, who):
    body = "\n".join([HEADER, csv_line("甲", factories.id_number(), days_ago(3).isoformat())])
    response = client_for(request.getfixturevalue(who)).generic("POST", URL, body.encode(), content_type="text/csv")
    assert response.status_code == 403
    assert not Person.objects.exists()


def test_gb18030_csv_from_a_spreadsheet_is_read(client_for, admin_user):
    body = "\n".join([HEADER, csv_line("陈一", factories.id_number(), days_ago(3).isoformat())])
    response = client_for(admin_user).generic("POST", URL, body.encode("gb18030"), content_type="text/csv")
    assert response.status_code == 201
    assert InboundCase.objects.get().person.name == "陈一"


# --- the management command ---------------------------------------------------------------------
def test_command_imports_a_good_file(tmp_path, border, community, capsys):
    numbers, lines = good_rows(community.code)
    path = tmp_path / "feed.csv"
    path.write_text("\n".join([HEADER, *lines]), encoding="utf-8")

    call_command("import_entrants", str(path))

    assert InboundCase.objects.count() == 3
    assert set(InboundCase.objects.values_list("border", flat=True)) == {border.pk}
    assert "已导入 3 行" in capsys.readouterr().out


def test_command_rejects_a_bad_file_and_writes_nothing(tmp_path, border, capsys):
    wrong_number = bad_id_number()
    path = tmp_path / "feed.txt"
    path.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "name": "甲",
                        "id_number": factories.id_number(),
                        "entered_country_on": days_ago(3).isoformat(),
                        "port": "p",
                        "origin_country": "FR",
                    }
                ),
                json.dumps(
                    {
                        "name": "乙",
                        "id_number": wrong_number,
                        "entered_country_on": days_ago(3).isoformat(),
                        "port": "p",
                        "origin_country": "FR",
                    }
                ),
            ]
        ),
        encoding="utf-8",
    )

    with pytest.raises(CommandError, match="1 行有误"):
        call_command("import_entrants", str(path), "--format", "jsonl")

    assert not InboundCase.objects.exists()
    assert not Person.objects.exists()
    err = capsys.readouterr().err
    assert "第 2 行 id_number" in err
    assert wrong_number not in err


def test_a_time_without_offset_is_beijing_time(client_for, border_staff):
    # 23:30 without an offset is 23:30 Beijing (15:30 UTC): the quarantine ended that Beijing day
    day = days_ago(6)
    row = csv_line(
        "钱一", factories.id_number(), days_ago(20).isoformat(), ended=f"{day.isoformat()}T23:30", city=day.isoformat()
    )

    response = client_for(border_staff).generic("POST", URL, "\n".join([HEADER, row]).encode(), content_type="text/csv")

    assert response.status_code == 201
    case = InboundCase.objects.get()
    assert case.quarantine_ended_at == beijing(day, 23, 30)
    assert case.quarantine_ended_on == day
