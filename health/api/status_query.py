"""`POST /api/v1/status/query/` at the morning peak: the common request answered without DRF's machinery.

The public status query is the endpoint the whole city calls at once (health codes elsewhere
peaked at 1.4 million queries a minute). A well-formed request — JSON asking for JSON, a name and
an id_number that are plain strings, the number valid — is answered here with the same rules as
the DRF view: the same field checks, both public throttles counted in one round trip, the same
read of the precomputed status (one indexed query when it is fresh), the answer rendered as the
DRF serializer renders it and with the same headers (the tests compare the two byte for byte).
Anything else — another method, content type or `Accept`, malformed JSON, an invalid field, a
caller over a limit — goes to the DRF view (`StatusQueryView`), which gives the contract's
400/405/429 answers and documents the endpoint in the OpenAPI schema. A request is counted by
the throttles once, whichever path answers it.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from health.passes.answers import public_status_payload
from health.services import access

from .throttling import id_number_checked, public_throttles_exceeded
from .views import StatusQueryView

NAME_MAX = StatusQueryView.name_max_length
_HEADERS = StatusQueryView.response_headers()
BODY_MAX = 4096


def _moment(value: datetime | None) -> str | None:
    # As DRF's DateTimeField renders it: in the current time zone, ISO 8601, UTC written "Z".
    if value is None:
        return None
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _rendered(payload: dict) -> dict:
    """`StatusSerializer(payload).data`, without building a serializer per request (the tests compare them)."""
    return {
        "status": payload["status"],
        "label": payload["label"],
        "reasons": [str(reason) for reason in payload["reasons"]],
        "valid_until": _moment(payload["valid_until"]),
        "computed_at": _moment(payload["computed_at"]),
        "pass": _pass(payload["pass"]),
    }


def _pass(issued: dict | None) -> dict | None:
    if issued is None:
        return None
    return {"text": issued["text"], "expires_at": _moment(issued["expires_at"]), "qr_svg": issued["qr_svg"]}


def _strict_constant(value: str):
    # DRF's JSON parser refuses NaN and Infinity (STRICT_JSON); so does this path, by handing them on.
    raise ValueError(value)


def _field(value: object, max_length: int) -> str | None:
    """A CharField's value as DRF's would clean it (trimmed, non-blank, within its length), or None."""
    if type(value) is not str:
        return None
    value = value.strip()
    # isprintable() is False for NUL, surrogates and other controls, which DRF refuses or treats apart.
    if not value or len(value) > max_length or not value.isprintable():
        return None
    return value


def answer(request: HttpRequest) -> HttpResponse | None:
    """The answer to a well-formed, valid, unthrottled query; None to let the DRF view answer."""
    if request.method != "POST" or request.content_type != "application/json":
        return None
    if request.content_params.get("charset", "utf-8").lower() != "utf-8":
        return None
    accept = request.META.get("HTTP_ACCEPT", "*/*")
    if accept not in ("*/*", "application/json"):
        return None
    try:
        # A query is about a hundred bytes; a large body is the DRF view's to read (Django would
        # refuse one over DATA_UPLOAD_MAX_MEMORY_SIZE here with an HTML 400).
        if int(request.META.get("CONTENT_LENGTH") or 0) > BODY_MAX:
            return None
        # UTF-8 only, as DRF's parser reads it (json.loads would also guess UTF-16 or UTF-32).
        body = json.loads(request.body.decode("utf-8"), parse_constant=_strict_constant)
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep, the DRF view's 400
        return None
    if type(body) is not dict:
        return None
    name = _field(body.get("name"), NAME_MAX)
    if name is None:
        return None
    if "document_type" in body or "document_number" in body:
        return None  # another identity document: the DRF view's (health.identity.document_clean)
    # The number as sent: cleaned (a string, trimmed, validated) as the serializer's field cleans it.
    checked = id_number_checked(request, body.get("id_number"))
    if checked.error is not None:
        return None
    exceeded = public_throttles_exceeded(request, digest=checked.digest, name=name)
    if exceeded:
        # Already counted: the DRF view answers 429 from this, without counting again.
        request.public_throttle_wait = max(throttle.wait() for throttle in exceeded)
        return None
    health_status = access.status_public_by_digest(name=name, id_digest=checked.digest)
    payload = public_status_payload(health_status, name=name, id_number=checked.number, id_digest=checked.digest)
    content = json.dumps(_rendered(payload), ensure_ascii=False, separators=(",", ":"))
    response = HttpResponse(content.encode(), content_type="application/json")
    for header, value in _HEADERS.items():
        response[header] = value
    return response


def status_query_view():
    """The routed view: this path first, the DRF view for everything else (and for the schema)."""
    drf_view = StatusQueryView.as_view()

    # wraps() keeps `cls` and `initkwargs`, by which drf-spectacular finds and documents the DRF view.
    @functools.wraps(drf_view)
    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return answer(request) or drf_view(request, *args, **kwargs)

    return csrf_exempt(view)
