"""gunicorn's application in the lookup benchmark: the product's Django app, with a hand-written lookup in front.

`POST /bench/handwritten-status/` never reaches Django: no middleware, no URL resolution, no
request object. It is the least a status query can be on this stack: read the body, hash the ID
number (HMAC-SHA256 with the product's key), one select by the digest's unique index prepared on
the server, on a raw psycopg connection of its own per thread, and a JSON answer. The real
endpoint is measured against it in the same server, configuration and run. Every other path is the
product's application, unchanged.
"""
from __future__ import annotations

import hmac
import json
import os
import threading

import psycopg
from django.conf import settings

from config.wsgi import application as django_application

PATH = "/bench/handwritten-status/"
_SQL = (
    "SELECT s.status, s.reasons, s.valid_until, s.computed_at, p.name FROM health_person p "
    "JOIN health_healthstatus s ON s.person_id = p.id WHERE p.id_digest = %s"
)
_local = threading.local()
_UNKNOWN = json.dumps({"status": "popup", "reasons": ["P", "itinerary_unverifiable", "itinerary_not_declared"]}).encode()


def _url() -> str:
    """The database the real endpoint reads: the first replica when there is one, else the primary."""
    replicas = [url for url in os.environ.get("DATABASE_REPLICA_URLS", "").split(",") if url.strip()]
    if replicas:
        return replicas[0].strip()
    database = settings.DATABASES["default"]
    return (
        f"postgresql://{database.get('USER') or 'postgres'}@{database.get('HOST') or '127.0.0.1'}:"
        f"{database.get('PORT') or 5432}/{database['NAME']}"
    )


def _connection() -> psycopg.Connection:
    connection = getattr(_local, "connection", None)
    if connection is None or connection.closed:
        connection = psycopg.connect(_url(), autocommit=True)
        _local.connection = connection
    return connection


def _handwritten(environ, start_response):
    body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
    digest = hmac.digest(settings.PERSON_ID_HASH_KEY.encode(), body["id_number"].encode(), "sha256").hex()
    with _connection().cursor() as cursor:
        cursor.execute(_SQL, [digest], prepare=True)
        row = cursor.fetchone()
    if row is None or row[4] != body.get("name"):
        content = _UNKNOWN
    else:
        status, reasons, valid_until, computed_at, _name = row
        content = json.dumps(
            {
                "status": status,
                "reasons": reasons,
                "valid_until": valid_until.isoformat() if valid_until else None,
                "computed_at": computed_at.isoformat() if computed_at else None,
            },
            ensure_ascii=False,
        ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(content)))])
    return [content]


def application(environ, start_response):
    if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "POST":
        return _handwritten(environ, start_response)
    return django_application(environ, start_response)
