"""The one validator of identity documents (health.identity.document_clean): shapes, states, keys, masks."""
import datetime

import pytest
from django.core.exceptions import ValidationError

from health.identity import (
    Document,
    document_clean,
    document_mask,
    document_of,
    id_number_digest,
    name_key,
    nationality_clean,
)
from tests import factories
from tests.identity.documents import fpr_18


def errors(**kwargs) -> dict:
    with pytest.raises(ValidationError) as caught:
        document_clean(kwargs.pop("kind", None), **kwargs)
    return caught.value.message_dict


@pytest.mark.parametrize(
    "kind, number, nationality, folded",
    [
        ("passport", " g1234 5689 ", "gbr", "G12345689"),
        ("passport", "ＥＡ１２３４５", "USA", "EA12345"),
        ("hk_macao_permit", "h12345678", None, "H12345678"),
        ("hk_macao_permit", "M1234567890", None, "M1234567890"),
        ("taiwan_permit", "12345678", None, "12345678"),
        ("taiwan_permit", "1234567801", None, "1234567801"),
        ("foreign_permanent_residence", "usa110080101001", "USA", "USA110080101001"),
    ],
)
def test_each_document_type_is_folded_and_accepted(kind, number, nationality, folded):
    document = document_clean(kind, number=number, nationality=nationality)
    assert (document.document_type, document.number) == (kind, folded)
    assert folded not in repr(document)  # the number never shows in a log line


def test_the_new_permanent_residence_card_has_its_check_character_and_birth_date():
    number = fpr_18("19800101")
    document = document_clean("foreign_permanent_residence", number=number, nationality="ESP")
    assert document.birth_date == datetime.date(1980, 1, 1)
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert errors(kind="foreign_permanent_residence", number=wrong, nationality="ESP") == {
        "document_number": ["外国人永久居留身份证号码校验位不正确。"]
    }


def test_a_resident_id_as_a_document_is_the_id_number_exactly():
    number = factories.id_number(born=datetime.date(1985, 6, 1))
    document = document_clean("resident_id", number=number)
    assert document == document_of(number)
    assert document.digest == id_number_digest(number)  # every stored person keeps their key
    assert document.masked == number[:6] + "********" + number[-4:]
    assert document.birth_date == datetime.date(1985, 6, 1)
    assert errors(kind="resident_id", number="123") == {"document_number": ["身份证号码应为18位。"]}


@pytest.mark.parametrize(
    "kwargs, field, message",
    [
        ({"kind": "visa", "number": "G12345678"}, "document_type", "未知的证件类型。"),
        ({"kind": "passport", "number": "G12345678", "nationality": "XXX"}, "nationality", "未知的国籍（应为 ISO 3166-1 三位字母代码，如 GBR）。"),
        ({"kind": "passport", "number": "G12345678", "nationality": "GB"}, "nationality", "未知的国籍（应为 ISO 3166-1 三位字母代码，如 GBR）。"),
        ({"kind": "passport", "number": "G12345678"}, "nationality", "请填写国籍（ISO 3166-1 三位字母代码，如 GBR）。"),
        ({"kind": "passport", "number": "G12", "nationality": "GBR"}, "document_number", "护照号码应为5至20位字母或数字。"),
        ({"kind": "passport", "number": "G1234-5678", "nationality": "GBR"}, "document_number", "护照号码应为5至20位字母或数字。"),
        ({"kind": "hk_macao_permit", "number": "C12345678"}, "document_number", "港澳居民来往内地通行证号码应为 H 或 M 加 8 位或 10 位数字。"),
        ({"kind": "taiwan_permit", "number": "1234567"}, "document_number", "台湾居民来往大陆通行证号码应为8位数字，或旧版的10位字符。"),
        ({"kind": "foreign_permanent_residence", "number": "US1100801010011", "nationality": "USA"}, "document_number",
         "外国人永久居留身份证号码应为15位（3位字母加12位数字），或以9开头的18位。"),
        ({"kind": "passport", "number": "", "nationality": "GBR"}, "document_number", "请填写证件号码。"),
        ({"kind": "passport", "number": 12345678, "nationality": "GBR"}, "document_number", "护照号码应为5至20位字母或数字。"),
    ],
)
def test_bad_documents_are_refused_in_chinese_by_field(kwargs, field, message):
    found = errors(**kwargs)
    assert found[field] == [message]
    number = str(kwargs.get("number"))
    assert all(number not in text for messages in found.values() for text in messages if len(number) > 3)


def test_icao_codes_are_read_as_their_iso_state():
    assert nationality_clean("D") == "DEU"
    assert nationality_clean("gbd") == "GBR"
    assert document_clean("passport", number="C01X00T47", nationality="D").nationality == "DEU"


def test_the_key_is_the_type_the_state_and_the_number():
    british = document_clean("passport", number="123456789", nationality="GBR")
    american = document_clean("passport", number="123456789", nationality="USA")
    taiwan = document_clean("taiwan_permit", number="12345678")
    permit_as_passport = document_clean("passport", number="12345678", nationality="CHN")
    assert len({british.digest, american.digest, taiwan.digest, permit_as_passport.digest}) == 4
    assert british.digest == document_clean("passport", number=" 1234 56789", nationality="gbr").digest
    # the permanent residence card is China's number: a nationality typed wrongly is the same person
    card_a = document_clean("foreign_permanent_residence", number="USA110080101001", nationality="USA")
    card_b = document_clean("foreign_permanent_residence", number="USA110080101001", nationality="CAN")
    assert card_a.digest == card_b.digest


def test_masks_keep_the_first_and_last_two_characters():
    assert document_mask("G12345689") == "G1*****89"
    assert document_clean("hk_macao_permit", number="H12345678").masked == "H1*****78"
    assert document_clean("passport", number="AB123", nationality="FRA").masked == "A***3"


def test_a_given_birth_date_is_kept_unless_it_is_impossible():
    born = datetime.date(1970, 5, 4)
    assert document_clean("passport", number="G12345678", nationality="GBR", birth_date=born).birth_date == born
    tomorrow = datetime.date.today() + datetime.timedelta(days=2)
    assert errors(kind="passport", number="G12345678", nationality="GBR", birth_date=tomorrow) == {
        "birth_date": ["出生日期无效。"]
    }


def test_latin_names_compare_case_insensitively_with_spaces_folded_and_nfc():
    assert name_key("John  SMITH") == name_key("john smith") == name_key(" JOHN\u3000Smith ")
    assert name_key("Zoe\u0308 Brown") == name_key("ZOË BROWN")
    assert name_key("张三") != name_key("张 三")
    assert isinstance(document_of(document_clean("taiwan_permit", number="12345678")), Document)
