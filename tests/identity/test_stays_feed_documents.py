"""The stays file names persons by any document (api.md, "A person in a request"): the same validator,
the same key as the API, the same contract (all or nothing, the exact row report, a retry changes
nothing), on SQLite and on PostgreSQL (its set-based staging)."""

import csv
import json
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from health import feeds
from health.feeds import FeedRejected, feed_import, stays_validate
from health.identity import document_clean, id_number_digest
from health.models import HealthStatus, ItineraryDeclaration, ItineraryStay, KeptDeclaration, Person, PersonAlias
from health.services.merge import persons_merge
from health.services.persons import person_resolve
from tests import factories
from tests.identity.documents import KINDS, NON_RESIDENT, fpr_18, number_of, person

pytestmark = pytest.mark.django_db
HEADER = ["name", "id_number", "document_type", "document_number", "nationality", "city_code", "arrived_at", "left_at"]
CITIES = ["110105", "130102", "120101", "110108"]


def ago(**kwargs) -> str:
    return (timezone.now().replace(microsecond=0) - timedelta(**kwargs)).isoformat()


def row(who: dict, city: str = "110105", *, arrived: str | None = None, left: str = "") -> list[str]:
    return [who["name"], who.get("id_number", ""), who.get("document_type", ""), who.get("document_number", ""),
            who.get("nationality", ""), city, arrived or ago(days=2), left]  # fmt: skip


def write_csv(path, rows, header=HEADER):
    with path.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def digest_of(who: dict) -> str:
    if "document_number" not in who:
        return id_number_digest(who["id_number"])
    return document_clean(
        who["document_type"], number=who["document_number"], nationality=who.get("nationality")
    ).digest


def test_a_file_names_persons_by_every_document_and_a_retry_changes_nothing(
    tmp_path, django_capture_on_commit_callbacks
):
    # given one person of each document type, each with two stays, in one file
    people = [person(kind) for kind in KINDS]
    rows = [row(who, city, arrived=ago(days=3 + index)) for who in people for index, city in enumerate(CITIES[:2])]
    path = write_csv(tmp_path / "stays.csv", rows)

    # when it is imported
    with django_capture_on_commit_callbacks(execute=True):
        result = feed_import(kind="stays", path=path)

    # then every stay is written, each person keyed by the document's digest (the API's key) with its type
    assert result == {"rows": 2 * len(KINDS), "written": 2 * len(KINDS), "persons": len(KINDS)}
    for who in people:
        stored = Person.objects.get(id_digest=digest_of(who))
        assert stored.name == who["name"]
        assert stored.document_type == who.get("document_type", "resident_id")
        assert stored.nationality == who.get("nationality", "")
        number = number_of(who)
        assert stored.id_masked.startswith(number[:1]) and "*" in stored.id_masked and number not in stored.id_masked
        assert ItineraryStay.objects.filter(person=stored).count() == 2
    assert not HealthStatus.objects.filter(dirty=True).exists()
    # the birth date where the number holds one (resident ID, the 18-character card), for likely duplicates
    assert Person.objects.get(id_digest=digest_of(people[0])).birth_date == date(1990, 1, 1)
    assert Person.objects.get(id_digest=digest_of(people[-1])).birth_date == date(1980, 1, 1)
    assert Person.objects.get(id_digest=digest_of(people[3])).birth_date is None  # a passport says none

    # when the same file is sent again, with one stay ended
    before = list(ItineraryStay.objects.order_by("pk").values_list("pk", "person_id", "region_id", "arrived_at"))
    rows[0][-1] = ago(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        again = feed_import(kind="stays", path=write_csv(path, rows))

    # then nothing is added, the one stay is updated
    assert again["written"] == 2 * len(KINDS)
    assert (
        list(ItineraryStay.objects.order_by("pk").values_list("pk", "person_id", "region_id", "arrived_at")) == before
    )
    assert Person.objects.count() == len(KINDS)
    assert ItineraryStay.objects.filter(left_at__isnull=False).count() == 1


@pytest.mark.parametrize("kind", NON_RESIDENT)
def test_the_file_and_the_api_key_a_document_alike(tmp_path, kind, client_for):
    # given a person registered through the API by a document (a designation)
    who = person(kind)
    health = client_for(factories.staff(organisation=factories.department("health")))
    response = health.post("/api/v1/designations/", {"person": who, "kind": "close_contact", "designated_at": ago(days=1)},
                           format="json")  # fmt: skip
    assert response.status_code == 201
    # when a stays file names them by the same document, the number typed in lower case with spaces
    # and the Latin name in another case
    spelled = {
        **who,
        "document_number": who["document_number"][:4].lower() + " " + who["document_number"][4:],
        "name": who["name"].upper(),
    }
    feed_import(kind="stays", path=write_csv(tmp_path / "stays.csv", [row(spelled)]))
    # then the stay is theirs: no second person
    stored = Person.objects.get()
    assert ItineraryStay.objects.get().person == stored
    assert stored.name == who["name"]


def wrong_check(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


BAD = [
    # (the row's document columns, the column reported, its message)
    ({"document_type": "visa", "document_number": "G12345678"}, "document_type", "未知的证件类型。"),
    ({"document_type": "passport", "document_number": "G12345678", "nationality": "XYZ"}, "nationality",
     "未知的国籍（应为 ISO 3166-1 三位字母代码，如 GBR）。"),
    ({"document_type": "passport", "document_number": "G12345678"}, "nationality",
     "请填写国籍（ISO 3166-1 三位字母代码，如 GBR）。"),
    ({"document_type": "passport", "document_number": "G-1", "nationality": "GBR"}, "document_number",
     "护照号码应为5至20位字母或数字。"),
    ({"document_type": "passport", "nationality": "GBR"}, "document_number", "请填写证件号码。"),
    ({"document_type": "hk_macao_permit", "document_number": "K12345678"}, "document_number",
     "港澳居民来往内地通行证号码应为 H 或 M 加 8 位或 10 位数字。"),
    ({"document_type": "taiwan_permit", "document_number": "1234567"}, "document_number",
     "台湾居民来往大陆通行证号码应为8位数字，或旧版的10位字符。"),
    ({"document_type": "foreign_permanent_residence", "document_number": "DEU12345", "nationality": "DEU"},
     "document_number", "外国人永久居留身份证号码应为15位（3位字母加12位数字），或以9开头的18位。"),
    ({"document_type": "foreign_permanent_residence", "document_number": wrong_check(fpr_18()), "nationality": "ESP"},
     "document_number", "外国人永久居留身份证号码校验位不正确。"),
    ({"document_type": "resident_id", "document_number": wrong_check(factories.id_number())}, "document_number",
     "身份证号码校验位不正确。"),
]  # fmt: skip


@pytest.mark.parametrize("document, column, message", BAD)
def test_a_bad_document_rejects_the_file_naming_its_line_and_column_and_nothing_is_written(
    tmp_path, capsys, document, column, message
):
    # given a file whose third data row has a bad document, between good rows of every type
    good = [person(kind) for kind in ("passport", "hk_macao_permit", "id_number")]
    bad = {"name": "Jane DOE", **document}
    rows = [row(good[0]), row(good[1]), row(bad), row(good[2])]
    path = write_csv(tmp_path / "stays.csv", rows)

    # when it is imported
    with pytest.raises(CommandError, match="1 行有误"):
        call_command("import_feed", "stays", str(path))

    # then line 4 (the header is line 1) is reported with the column and the Chinese message, and only it
    err = capsys.readouterr().err
    assert f"第 4 行 {column}: {message}" in err
    assert "第 2 行" not in err and "第 3 行" not in err and "第 5 行" not in err
    if document.get("document_number"):
        assert document["document_number"] not in err
    assert (Person.objects.count(), ItineraryStay.objects.count(), HealthStatus.objects.count()) == (0, 0, 0)


def test_a_document_row_with_a_bad_id_number_too_is_refused_as_the_api_refuses_it(tmp_path):
    who = person("passport")
    bad = factories.id_number()[:-1] + "Y"
    with pytest.raises(FeedRejected) as rejected:
        feed_import(kind="stays", path=write_csv(tmp_path / "stays.csv", [row({**who, "id_number": bad})]))
    assert rejected.value.rejected == [
        {"line": 2, "errors": {"id_number": ["身份证号码格式不正确：前17位应为数字，末位为数字或X。"]}}
    ]
    assert not Person.objects.exists()


def test_names_are_compared_by_name_key_within_the_file_and_with_stored_persons(tmp_path):
    # given a passport holder stored as "John SMITH"
    who = person("passport", name="John SMITH")
    person_resolve(name=who["name"], id_number=digest_document(who))
    # when a file names them "john  smith" and "JOHN SMITH" on two rows
    rows = [row({**who, "name": "john  smith"}, "110105"), row({**who, "name": "JOHN SMITH"}, "130102")]
    result = feed_import(kind="stays", path=write_csv(tmp_path / "ok.csv", rows))
    # then both stays are theirs and the stored name is unchanged
    assert result["persons"] == 1 and ItineraryStay.objects.count() == 2
    assert Person.objects.get().name == "John SMITH"

    # when another file names the same passport "Jane SMITH" on its second row, after a good row
    other = person("hk_macao_permit")
    rows = [row(other), row({**who, "name": "Jane SMITH"}, "120101")]
    with pytest.raises(FeedRejected) as rejected:
        feed_import(kind="stays", path=write_csv(tmp_path / "bad.csv", rows))
    # then the file is refused at that row, and nothing of it is written
    assert rejected.value.rejected == [{"line": 3, "errors": {"name": ["该身份证号码已登记为另一姓名。"]}}]
    assert ItineraryStay.objects.count() == 2
    assert Person.objects.count() == 1

    # and within one file, the same document under two names is refused at its second row
    rows = [row(other), row({**other, "name": "林志明"}, "120101")]
    with pytest.raises(FeedRejected) as rejected:
        feed_import(kind="stays", path=write_csv(tmp_path / "two.csv", rows))
    assert rejected.value.rejected == [{"line": 3, "errors": {"name": ["同一身份证号码在第 2 行的姓名不同。"]}}]


def digest_document(who: dict):
    return document_clean(who["document_type"], number=who["document_number"], nationality=who.get("nationality"))


def test_a_merged_document_leads_to_the_kept_person(tmp_path, admin_user, django_capture_on_commit_callbacks):
    # given a citizen known by resident ID and by a CHN passport, merged into the resident
    resident = {"name": "张三", "id_number": factories.id_number()}
    passport = {"name": "张三", "document_type": "passport", "document_number": "E12345678", "nationality": "CHN"}
    kept = person_resolve(name="张三", id_number=resident["id_number"])
    merged = person_resolve(name="张三", id_number=digest_document(passport))
    persons_merge(actor=admin_user, keep=kept, merge=merged, reason="同一人")
    # when a file names them by both documents, one stay under both
    same = ago(days=2)
    rows = [row(passport, "110105", arrived=same), row(resident, "110105", arrived=same), row(passport, "130102")]
    with django_capture_on_commit_callbacks(execute=True):
        result = feed_import(kind="stays", path=write_csv(tmp_path / "stays.csv", rows))
    # then every stay is the kept person's, the shared one once, and no person is created
    assert Person.objects.count() == 1
    assert set(ItineraryStay.objects.values_list("person_id", flat=True)) == {kept.pk}
    assert ItineraryStay.objects.count() == 2
    assert result["persons"] == 1
    assert PersonAlias.objects.get().person == kept


def test_a_declaration_kept_for_a_latin_name_becomes_theirs_whatever_its_case(tmp_path, api):
    # given a declaration made before the passport holder was known, the name typed in lower case
    who = person("passport", name="John SMITH")
    declared = api.post("/api/v1/status/declarations/", {**who, "name": "john smith", "city_codes": ["110000"]},
                        format="json")  # fmt: skip
    assert declared.status_code == 201 and KeptDeclaration.objects.count() == 1
    # when the stays file names them for the first time
    feed_import(kind="stays", path=write_csv(tmp_path / "stays.csv", [row(who)]))
    # then the kept declaration is theirs
    assert ItineraryDeclaration.objects.get().person == Person.objects.get()
    assert not KeptDeclaration.objects.exists()


def test_a_header_names_persons_by_id_number_or_document_number(tmp_path):
    who = person("taiwan_permit")
    header = ["name", "document_type", "document_number", "city_code", "arrived_at"]
    path = write_csv(tmp_path / "docs.csv", [[who["name"], who["document_type"], who["document_number"], "110105", ago(days=1)]],
                     header=header)  # fmt: skip
    assert feed_import(kind="stays", path=path)["written"] == 1
    with pytest.raises(FeedRejected) as rejected:
        feed_import(kind="stays", path=write_csv(tmp_path / "none.csv", [["x", "110105", ago(days=1)]],
                                                 header=["name", "city_code", "arrived_at"]))  # fmt: skip
    assert rejected.value.rejected == [{"line": 1, "errors": {"header": ["缺少必需的列：id_number"]}}]


def test_json_lines_name_persons_by_document(tmp_path):
    who = person("fpr_15")
    line = {"name": who["name"], "document_type": who["document_type"], "document_number": who["document_number"],
            "nationality": "deu", "city_code": "110105", "arrived_at": ago(days=1)}  # fmt: skip
    path = tmp_path / "stays.jsonl"
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    assert feed_import(kind="stays", path=path)["written"] == 1
    assert Person.objects.get().nationality == "DEU"


def test_parts_checked_in_several_processes_agree_with_one(tmp_path, monkeypatch):
    monkeypatch.setattr(feeds, "PARALLEL_MIN_BYTES", 0)
    people = [person(kind) for kind in KINDS]
    rows = [row(people[index % len(people)], CITIES[index % 4], arrived=ago(hours=index + 1)) for index in range(160)]
    path = write_csv(tmp_path / "stays.csv", rows)
    one, two = stays_validate(path, "csv", processes=1), stays_validate(path, "csv", processes=2)
    assert two.persons == one.persons and len(two.persons) == len(KINDS)
    assert sorted(two.stay_rows()) == sorted(one.stay_rows())


# --- the designations file names persons the same way ----------------------------------------------
DESIGNATION_HEADER = ["name", "id_number", "document_type", "document_number", "nationality", "kind", "designated_at",
                      "cleared_at"]  # fmt: skip


@pytest.mark.parametrize("kind", NON_RESIDENT)
def test_the_designations_file_names_persons_by_any_document(tmp_path, kind, django_capture_on_commit_callbacks):
    who, resident = person(kind), person("id_number")
    rows = [
        [who["name"], "", who.get("document_type", ""), who["document_number"], who.get("nationality", ""),
         "close_contact", ago(hours=2), ""],
        [resident["name"], resident["id_number"], "", "", "", "close_contact", ago(hours=2), ""],
    ]  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert feed_import(kind="designations", path=write_csv(tmp_path / "d.csv", rows, DESIGNATION_HEADER)) == {
            "rows": 2
        }
    stored = Person.objects.get(id_digest=digest_of(who))
    assert (stored.document_type, stored.designations.get().kind) == (who["document_type"], "close_contact")
    assert HealthStatus.objects.get(person=stored).status == "centralized_observation"


def test_a_bad_document_in_the_designations_file_is_reported_by_line_and_nothing_is_written(tmp_path):
    who = {**person("passport"), "nationality": "XYZ"}
    rows = [[who["name"], "", "passport", who["document_number"], "XYZ", "close_contact", ago(hours=2), ""]]
    with pytest.raises(FeedRejected) as rejected:
        feed_import(kind="designations", path=write_csv(tmp_path / "d.csv", rows, DESIGNATION_HEADER))
    assert rejected.value.rejected == [
        {"line": 2, "errors": {"nationality": ["未知的国籍（应为 ISO 3166-1 三位字母代码，如 GBR）。"]}}
    ]
    assert not Person.objects.exists()
