"""Baselines of the lookup benchmark: the irreducible work of a status query, hand-written, and a bare JSON view."""
import hashlib
import hmac
import json

import psycopg
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

_SQL = (
    "SELECT s.status, s.reasons, s.valid_until, s.computed_at, p.name FROM health_person p "
    "JOIN health_healthstatus s ON s.person_id = p.id WHERE p.id_digest = %s"
)


@csrf_exempt
def minimal_status(request):
    """Hash the ID number, one indexed select, a JSON answer: no validation, throttling or freshness check."""
    body = json.loads(request.body)
    digest = hmac.new(settings.PERSON_ID_HASH_KEY.encode(), body["id_number"].encode(), hashlib.sha256).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(_SQL, [digest])
        row = cursor.fetchone()
    return _answer(row, body)


def _answer(row, body: dict) -> HttpResponse:
    if row is None or row[4] != body.get("name"):
        answer = {"status": "popup", "reasons": ["P", "itinerary_unverifiable", "itinerary_not_declared"]}
    else:
        status, reasons, valid_until, computed_at, _name = row
        answer = {
            "status": status,
            "reasons": reasons if isinstance(reasons, list) else json.loads(reasons),
            "valid_until": valid_until.isoformat() if valid_until else None,
            "computed_at": computed_at.isoformat() if computed_at else None,
        }
    return HttpResponse(json.dumps(answer), content_type="application/json")


@csrf_exempt
def minimal_status_prepared(request):
    """The minimal view with its select prepared on the server, as the real endpoint's is (a second baseline)."""
    body = json.loads(request.body)
    digest = hmac.new(settings.PERSON_ID_HASH_KEY.encode(), body["id_number"].encode(), hashlib.sha256).hexdigest()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = 2**31 - 1
    with psycopg.Cursor(raw) as cursor:
        cursor.execute(_SQL, [digest], prepare=True)
        row = cursor.fetchone()
    return _answer(row, body)


@csrf_exempt
def hello(request):
    return HttpResponse(b'{"ok": true}', content_type="application/json")
