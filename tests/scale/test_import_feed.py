"""Department feed files: a good file written in bulk and recomputed; a bad row rejects the file, naming its line."""
import csv
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from health.identity import id_number_digest
from health.models import Designation, HealthStatus, ItineraryStay, Person, RiskArea
from tests import factories

pytestmark = pytest.mark.django_db
HEADER = ["name", "id_number", "city_code", "arrived_at", "left_at"]


def write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def test_a_good_stays_file_is_written_in_bulk_and_the_persons_recomputed(tmp_path, capsys, django_capture_on_commit_callbacks):
    # given a file of 3 persons' stays, one of them already known
    now = timezone.now()
    known = factories.person_payload("王五")
    Person.objects.create(name="王五", id_digest=id_number_digest(known["id_number"]), id_masked="x")
    HealthStatus.objects.create(person=Person.objects.get(name="王五"))
    first, second = factories.id_number(), factories.id_number()
    rows = [
        ["张三", first, "130102", (now - timedelta(days=3)).isoformat(), (now - timedelta(days=2)).isoformat()],
        ["张三", first, "110105", (now - timedelta(days=2)).isoformat(), ""],
        [" 李 四 ", second, "110108", (now - timedelta(days=5)).isoformat(), ""],
        ["王五", known["id_number"], "120101", (now - timedelta(days=1)).isoformat(), ""],
    ]
    path = write_csv(tmp_path / "stays.csv", rows)

    # when it is imported
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_feed", "stays", str(path))

    # then every stay is stored once, the new persons created, and every affected status computed
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (result["rows"], result["written"], result["persons"]) == (4, 4, 3)
    assert ItineraryStay.objects.count() == 4
    assert set(Person.objects.values_list("name", flat=True)) == {"张三", "李 四", "王五"}
    assert not HealthStatus.objects.filter(dirty=True).exists()
    assert not HealthStatus.objects.filter(computed_at__isnull=True).exists()
    zhang = Person.objects.get(id_digest=id_number_digest(first))
    assert zhang.id_masked == first[:6] + "********" + first[-4:]
    assert ItineraryStay.objects.get(person=zhang, region_id="110105").left_at is None

    # when the same file is sent again with one stay ended
    rows[1][4] = now.isoformat()
    write_csv(path, rows)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_feed", "stays", str(path))

    # then nothing is duplicated and the stored stay is updated
    assert ItineraryStay.objects.count() == 4
    assert ItineraryStay.objects.get(person=zhang, region_id="110105").left_at == now.replace(microsecond=now.microsecond)


def test_a_bad_row_rejects_the_whole_file_with_line_numbers_and_reasons(tmp_path, capsys):
    # given a file whose third and fourth data lines are bad
    now = timezone.now()
    good, other = factories.id_number(), factories.id_number()
    bad_number = other[:-1] + ("0" if other[-1] != "0" else "1")  # a wrong check character
    rows = [
        ["张三", good, "130102", (now - timedelta(days=3)).isoformat(), ""],
        ["张三", good, "110105", (now - timedelta(days=2)).isoformat(), ""],
        ["李四", bad_number, "999999", (now + timedelta(days=3)).isoformat(), ""],
        ["张三丰", good, "110105", (now - timedelta(days=2)).isoformat(), (now - timedelta(days=3)).isoformat()],
    ]
    path = write_csv(tmp_path / "stays.csv", rows)

    # when it is imported
    with pytest.raises(CommandError, match="2 行有误"):
        call_command("import_feed", "stays", str(path))

    # then each bad line is named with its reasons, the ID number is never repeated, nothing is written
    err = capsys.readouterr().err
    assert "第 4 行 id_number: 身份证号码校验位不正确。" in err
    assert "第 4 行 city_code: 未知的区划代码。" in err
    assert "第 4 行 arrived_at: 该时间不能晚于当前时间。" in err
    assert "第 5 行 left_at: 离开时间不能早于到达时间。" in err
    assert "第 5 行 name: 同一身份证号码在第 2 行的姓名不同。" in err
    assert "第 2 行" not in err.replace("在第 2 行", "") and "第 3 行" not in err
    assert good not in err and bad_number not in err
    assert (Person.objects.count(), ItineraryStay.objects.count(), HealthStatus.objects.count()) == (0, 0, 0)


def test_a_name_that_contradicts_a_stored_person_rejects_the_file(tmp_path, capsys):
    number = factories.id_number()
    Person.objects.create(name="王五", id_digest=id_number_digest(number), id_masked="x")
    path = write_csv(tmp_path / "stays.jsonl", [])
    path.write_text(
        json.dumps({"name": "王六", "id_number": number, "city_code": "110105",
                    "arrived_at": (timezone.now() - timedelta(days=1)).isoformat()}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )  # fmt: skip

    with pytest.raises(CommandError):
        call_command("import_feed", "stays", str(path))

    assert "第 1 行 name: 该身份证号码已登记为另一姓名。" in capsys.readouterr().err
    assert ItineraryStay.objects.count() == 0
    assert Person.objects.get().name == "王五"


def test_designations_and_risk_areas_files_go_through_the_services(tmp_path, django_capture_on_commit_callbacks):
    now = timezone.now()
    designations = tmp_path / "designations.csv"
    with designations.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output)
        writer.writerow(["name", "id_number", "kind", "designated_at", "cleared_at"])
        writer.writerow(["张三", factories.id_number(), "close_contact", (now - timedelta(hours=2)).isoformat(), ""])
    risks = tmp_path / "risks.jsonl"
    risks.write_text(json.dumps({"region_code": "130104", "level": "high", "effective_from": now.isoformat()}) + "\n")

    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_feed", "designations", str(designations))
        call_command("import_feed", "risk-areas", str(risks))

    designation = Designation.objects.get()
    assert (designation.person.name, designation.kind) == ("张三", "close_contact")
    assert HealthStatus.objects.get(person=designation.person).status == "centralized_observation"
    assert RiskArea.objects.get().region_id == "130104"
