"""Feed files decide their encoding for the whole file: UTF-8 (BOM or not), else GB18030, else refused by line."""

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from devtools.population import person_identity
from entrants.models import InboundCase
from health.models import ItineraryStay, Person
from tests import factories
from tests.entrants.conftest import days_ago

pytestmark = pytest.mark.django_db

URL = "/api/v1/entrants/import/"
HEADER = "name,id_number,entered_country_on,port,origin_country"


def line(name: str) -> str:
    return ",".join([name, factories.id_number(), days_ago(3).isoformat(), "首都机场", "GB"])


def post(client, body: bytes):
    return client.generic("POST", URL, body, content_type="text/csv")


def test_a_utf8_file_with_one_gb18030_row_is_refused_not_stored_as_mojibake(client_for, admin_user):
    # given a UTF-8 file (two-character names: GB18030 reads their bytes without an error) with one row
    # saved in GB18030
    body = "\n".join([HEADER, line("王芳"), line("李娜")]).encode() + b"\n" + line("张伟").encode("gb18030") + b"\n"
    assert body.decode("gb18030")  # the file as a whole is "valid" GB18030: that alone decides nothing
    # when it is posted
    response = post(client_for(admin_user), body)
    # then it is refused, naming the first line that is not UTF-8, and nothing is stored
    assert response.status_code == 400
    assert response.json()["rejected"][0]["line"] == 4
    assert "第 4 行不是 UTF-8 编码" in response.json()["rejected"][0]["errors"]["file"][0]
    assert not Person.objects.exists() and not InboundCase.objects.exists()


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_utf8_file_with_or_without_a_bom_is_read_as_utf8(client_for, admin_user, bom):
    body = bom + "\n".join([HEADER, line("王芳"), line("Zoë")]).encode()
    assert post(client_for(admin_user), body).status_code == 201
    assert set(Person.objects.values_list("name", flat=True)) == {"王芳", "Zoë"}


def test_a_gb18030_file_of_many_names_is_read_whole(client_for, admin_user):
    # about one GB18030 name in 140 is valid UTF-8 (of one- and two-byte characters) by chance: that
    # alone never makes a GB18030 file a mix
    names = sorted({person_identity(number)[0] for number in range(600)})
    body = "\n".join([HEADER, *(line(name) for name in names)]).encode("gb18030")
    response = post(client_for(admin_user), body)
    assert response.status_code == 201, response.content.decode()
    assert set(Person.objects.values_list("name", flat=True)) == set(names)


def test_a_utf8_file_with_a_bom_and_a_gb18030_row_is_refused(client_for, admin_user):
    body = b"\xef\xbb\xbf" + HEADER.encode() + b"\n" + line("陈一").encode("gb18030") + b"\n"
    response = post(client_for(admin_user), body)
    assert response.status_code == 400
    assert response.json()["rejected"][0]["line"] == 2


def test_a_file_valid_in_neither_is_refused_naming_the_first_such_line(client_for, admin_user):
    body = "\n".join([HEADER, line("陈一")]).encode("gb18030") + b"\n\xff\xfe\xff,1\n"
    response = post(client_for(admin_user), body)
    assert response.status_code == 400
    assert response.json()["rejected"][0]["line"] == 3
    assert "既不是有效的 UTF-8 编码，也不是有效的 GB18030 编码" in response.json()["rejected"][0]["errors"]["file"][0]
    assert not Person.objects.exists()


# --- the department feed files (stays, designations, risk areas) -------------------------------
def stays_file(tmp_path, rows: list[bytes]):
    path = tmp_path / "stays.csv"
    path.write_bytes(b"name,id_number,city_code,arrived_at,left_at\n" + b"\n".join(rows) + b"\n")
    return path


def stay_row(name: str, encoding: str = "utf-8") -> bytes:
    arrived = (timezone.now() - timezone.timedelta(days=2)).isoformat()
    return f"{name},{factories.id_number()},110105,{arrived},".encode(encoding)


def test_a_stays_file_in_gb18030_is_read_and_a_mixed_one_refused(tmp_path, capsys):
    with pytest.raises(CommandError):
        call_command("import_feed", "stays", str(stays_file(tmp_path, [stay_row("王芳"), stay_row("张伟", "gb18030")])))
    assert "第 3 行 file: 第 3 行不是 UTF-8 编码" in capsys.readouterr().err
    assert not ItineraryStay.objects.exists()

    call_command("import_feed", "stays", str(stays_file(tmp_path, [stay_row("王芳", "gb18030"), stay_row("张伟", "gb18030")])))
    assert set(Person.objects.values_list("name", flat=True)) == {"王芳", "张伟"}
