"""The JSON parser of every endpoint: DRF's, with a body nested past the decoder's depth refused as a 400."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

TOO_DEEP = _("JSON 嵌套层数过多。")


class JSONParser(parsers.JSONParser):
    """`[[[[…` a few thousand deep makes json's decoder raise RecursionError, which DRF does not catch (a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
