"""Origin countries: ISO 3166-1 alpha-2 codes checked against pycountry, named in Chinese."""

import gettext
from functools import lru_cache

import pycountry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def country_clean(raw: object) -> str:
    """The upper-case alpha-2 code, or ValidationError (whose message never repeats the input)."""
    code = str(raw or "").strip().upper()
    # pycountry's get() also matches alpha-3 and numeric codes; the contract is alpha-2 only.
    if len(code) != 2 or not code.isalpha() or pycountry.countries.get(alpha_2=code) is None:
        raise ValidationError(
            _("未知的国家或地区代码（应为 ISO 3166-1 二位字母代码，如 US）。"), code="unknown_country"
        )
    return code


@lru_cache(maxsize=1)
def _chinese() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"], fallback=True)


def country_name(code: str) -> str:
    """The country's Chinese name (English when no translation is shipped), or the code itself."""
    country = pycountry.countries.get(alpha_2=code) if code else None
    if country is None:
        return code
    return _chinese().gettext(country.name)


@lru_cache(maxsize=1)
def country_options() -> list[tuple[str, str]]:
    """(alpha-2, "法国 FR") for every country, by Chinese name: what the add form's list offers."""
    return sorted(
        ((country.alpha_2, f"{country_name(country.alpha_2)} {country.alpha_2}") for country in pycountry.countries),
        key=lambda option: option[1],
    )


def country_from_text(raw: object) -> str:
    """The alpha-2 code of what was typed or picked: "法国 FR", "FR", "fr" or the Chinese name "法国"."""
    text = " ".join(str(raw or "").split())
    if not text:
        return country_clean(text)
    last = text.rsplit(" ", 1)[-1]
    if len(last) == 2 and last.isascii() and last.isalpha():
        return country_clean(last)
    by_name = {name.rsplit(" ", 1)[0]: code for code, name in country_options()}
    return country_clean(by_name.get(text, text))
