"""The JSON parser of every endpoint: DRF's, refusing with a 400 what it would let through to a 500."""

from __future__ import annotations

import io
import re

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

TOO_DEEP = _("JSON 嵌套层数过多。")
NOT_TEXT = _("JSON 中含有无效的 Unicode 字符（单独的代理项）。")

# A \uD800-\uDFFF escape: the only way a lone surrogate (not text, unencodable) gets into a decoded string.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _strings_encodable(data) -> bool:
    """Every key and string in `data` is text UTF-8 can encode (no lone surrogate); iterative, any depth."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return True


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with two bodies refused as a 400 instead of reaching a 500.

    `[[[[…` a few thousand deep makes json's decoder raise RecursionError, which DRF does not catch.
    A lone surrogate (`"\\ud800"`) decodes to a str no database, log or answer can encode: a choice or
    a date field echoes it in its error message and the answer fails to render.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if _SURROGATE_ESCAPE.search(body) and not _strings_encodable(data):
            raise ParseError(NOT_TEXT)
        return data
