"""The border-control feed's passport columns: document_type, document_number, nationality (and birth_date)."""
import pytest

from entrants.models import InboundCase
from health.models import Person
from tests import factories
from tests.entrants.conftest import days_ago

pytestmark = pytest.mark.django_db

URL = "/api/v1/entrants/import/"


@pytest.fixture
def border_client(client_for):
    return client_for(factories.staff(organisation=factories.department("border")))


def post_csv(client, text: str):
    return client.generic("POST", URL, text.encode(), content_type="text/csv")


def test_a_file_mixes_resident_ids_and_passports(border_client):
    number = factories.id_number()
    entered = days_ago(10).isoformat()
    text = "\n".join([
        "name,id_number,document_type,document_number,nationality,birth_date,entered_country_on,port,origin_country",
        f"张一,{number},,,,,{entered},首都机场,GB",
        f"John SMITH,,passport,g1234 5678,GBR,1980-02-03,{entered},首都机场,GB",
        f"陈大文,,hk_macao_permit,H12345678,,,{entered},罗湖口岸,HK",
    ]) + "\n"
    response = post_csv(border_client, text)
    assert response.status_code == 201, response.json()
    assert response.json() == {"accepted": 3}
    kinds = dict(Person.objects.values_list("name", "document_type"))
    assert kinds == {"张一": "resident_id", "John SMITH": "passport", "陈大文": "hk_macao_permit"}
    john = Person.objects.get(name="John SMITH")
    assert (john.nationality, john.id_masked, str(john.birth_date)) == ("GBR", "G1*****78", "1980-02-03")
    assert InboundCase.objects.count() == 3


def test_a_file_without_id_number_names_persons_by_document_only(border_client):
    entered = days_ago(3).isoformat()
    text = f"name,document_type,document_number,nationality,entered_country_on,port,origin_country\n" \
           f"Anna MÜLLER,passport,C01X00T47,D,{entered},首都机场,DE\n"
    response = post_csv(border_client, text)
    assert response.status_code == 201, response.json()
    assert Person.objects.get().nationality == "DEU"  # the ICAO code D read as its ISO form


def test_bad_passport_rows_reject_the_file_in_chinese_without_repeating_the_number(border_client):
    entered = days_ago(3).isoformat()
    text = "\n".join([
        "name,document_type,document_number,nationality,entered_country_on,port,origin_country",
        f"John SMITH,passport,G7654321,XXX,{entered},首都机场,GB",
        f"Jane DOE,visa,V7654321,GBR,{entered},首都机场,GB",
        f"Max MUSTER,passport,G-76543-21,DEU,{entered},首都机场,DE",
        f"John SMITH,passport,G1111111,GBR,{entered},首都机场,GB",
        f"john  smith,passport,G1111111,GBR,{days_ago(4).isoformat()},首都机场,GB",
        f"Jim BEAM,passport,G1111111,GBR,{days_ago(5).isoformat()},首都机场,GB",
    ]) + "\n"
    response = post_csv(border_client, text)
    assert response.status_code == 400
    report = {row["line"]: row["errors"] for row in response.json()["rejected"]}
    assert report[2] == {"nationality": ["未知的国籍（应为 ISO 3166-1 三位字母代码，如 GBR）。"]}
    assert report[3] == {"document_type": ["未知的证件类型。"]}
    assert report[4] == {"document_number": ["护照号码应为5至20位字母或数字。"]}
    assert 6 not in report  # the same passport, the same name in another case and spacing
    assert list(report[7]) == ["name"]  # the same passport under another name
    for number in ("G7654321", "V7654321", "G1111111"):
        assert number not in response.content.decode()
    assert not Person.objects.exists() and not InboundCase.objects.exists()


def test_a_header_needs_id_number_or_document_number(border_client):
    response = post_csv(border_client, f"name,nationality,entered_country_on,port,origin_country\nA,GBR,{days_ago(3)},x,GB\n")
    assert response.status_code == 400
    assert "id_number" in json_text(response)


def json_text(response) -> str:
    return response.content.decode()
