"""The demo data has a foreign hotel guest and a passport-holding inbound traveller, queried by passport."""
import re
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

from health.models import Person

ROW = re.compile(r"^\| (.+?) \| (passport) (\w{3}) (\w+) \| (\S+) \|", re.MULTILINE)


def test_the_readme_s_document_holders_answer_the_public_query_by_passport(db, tmp_path, django_capture_on_commit_callbacks):
    rows = ROW.findall((Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8"))
    assert len(rows) == 2
    with override_settings(BASE_DIR=tmp_path), django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Person.objects.filter(document_type="passport").count() == 2
    client = Client()
    for name, kind, nationality, number, label in rows:
        body = {"name": name, "document_type": kind, "document_number": number, "nationality": nationality}
        answer = client.post("/api/v1/status/query/", body, content_type="application/json")
        assert answer.status_code == 200, name
        assert answer.json()["label"] == label, (name, answer.json())
