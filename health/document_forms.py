"""The identity document on the admin's registration forms: a type selector that shows the fields the
type needs, the number (never shown back), a nationality searchable by its Chinese name, and an
optional birth date; validated by the one validator (health.identity.document_clean)."""
from __future__ import annotations

import gettext
from functools import lru_cache

import pycountry
from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from health.forms import IdNumberInput
from health.identity import DOCUMENT_TYPES, DocumentType, document_clean, nationality_clean


@lru_cache(maxsize=1)
def nationalities() -> list[tuple[str, str]]:
    """(alpha-3, Chinese name) of every ISO 3166-1 state, by Chinese name (English where none is shipped)."""
    chinese = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True)
    return sorted(((country.alpha_3, chinese.gettext(country.name)) for country in pycountry.countries),
                  key=lambda pair: pair[1])


def nationality_from_text(raw: object) -> str:
    """What was typed or picked: `GBR`, `英国`, or the list's `英国 GBR` -> GBR; else ValidationError."""
    text = " ".join(str(raw or "").split())
    by_name = {name: code for code, name in nationalities()}
    if text in by_name:
        return by_name[text]
    last = text.rsplit(" ", 1)[-1]
    return nationality_clean(last)


class NationalityInput(forms.TextInput):
    """A text box with the states as suggestions (`英国 GBR`): typing 英 lists 英国 and its neighbours."""

    def __init__(self, attrs=None) -> None:
        super().__init__({"list": "nationality-choices", "autocomplete": "off", **(attrs or {})})

    def render(self, name, value, attrs=None, renderer=None):
        box = super().render(name, value, attrs, renderer)
        options = format_html_join("", '<option value="{} {}"></option>', ((label, code) for code, label in nationalities()))
        return format_html('{}<datalist id="nationality-choices">{}</datalist>', box, options)


class DocumentTypeSelect(forms.Select):
    class Media:
        js = ["health/document_fields.js"]


NEEDS_NATIONALITY = {DocumentType.PASSPORT, DocumentType.FOREIGN_PERMANENT_RESIDENCE}


class DocumentFormFields(forms.Form):
    """Mixed into a registration ModelForm before it: `document_type`, `id_number` (the number of any
    document, under its old name), `nationality`, `birth_date`. After `clean()`, `cleaned_data["id_number"]`
    is what the services take: the canonical resident ID number, or a health.identity.Document."""

    document_type = forms.ChoiceField(
        label=_("证件类型"),
        choices=list(DOCUMENT_TYPES.items()),
        initial=DocumentType.RESIDENT_ID,
        required=False,
        widget=DocumentTypeSelect(attrs={"data-document-type": "1"}),
    )
    id_number = forms.CharField(
        label=_("证件号码"),
        max_length=32,
        required=False,  # required when adding (clean_document); a change form does not name the person
        widget=IdNumberInput(attrs={"spellcheck": "false"}),
        help_text=_("居民身份证号为18位（港澳台居民居住证同）；系统只保存加密摘要和脱敏号码。"),
    )
    nationality = forms.CharField(
        label=_("国籍"),
        max_length=64,
        required=False,
        widget=NationalityInput(attrs={"data-needs": "passport foreign_permanent_residence"}),
        help_text=_("护照及外国人永久居留身份证必填：输入中文国名（如 英国）或三位字母代码（如 GBR）。"),
    )
    birth_date = forms.DateField(
        label=_("出生日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "data-needs": "passport hk_macao_permit taiwan_permit"}),
        help_text=_("选填：用于提示同一人以不同证件重复登记。"),
    )

    def clean_document(self, cleaned: dict) -> None:
        """Replaces the raw number by what the services take, or adds the field errors (in Chinese)."""
        if getattr(self.instance, "pk", None) is not None or "id_number" in self.errors:
            return
        if not cleaned.get("id_number"):
            self.add_error("id_number", _("请填写身份证号。"))
            return
        nationality = cleaned.get("nationality")
        kind = cleaned.get("document_type") or DocumentType.RESIDENT_ID
        if kind in NEEDS_NATIONALITY and nationality:
            try:
                nationality = nationality_from_text(nationality)
            except ValidationError as error:
                self.add_error("nationality", error.messages)
                cleaned.pop("id_number", None)
                return
        try:
            document = document_clean(
                kind, number=cleaned["id_number"], nationality=nationality, birth_date=cleaned.get("birth_date")
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error("id_number" if field == "document_number" else field, messages)
            cleaned.pop("id_number", None)
            return
        cleaned["id_number"] = document.number if kind == DocumentType.RESIDENT_ID else document
