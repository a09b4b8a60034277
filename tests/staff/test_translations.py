"""Chinese first, English switchable: the committed catalog is complete and compiled; an English request reads English."""
import ast
import gettext
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests import factories
from tests.communities.helpers import community, register
from tests.staff.helpers import fresh, logged_in

CATALOG = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"


def po_entries(path: Path) -> list[dict]:
    """msgid, msgid_plural, msgstr(s) and flags of each entry of a .po file (no external parser needed)."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"flags": "", "msgstr": []}
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += line
            elif line.startswith("#") or not line.strip():
                continue
            elif line.startswith('"'):
                value = ast.literal_eval(line)
                if key == "msgstr":
                    entry["msgstr"][-1] += value
                else:
                    entry[key] += value
            else:
                word, _space, literal = line.partition(" ")
                key = "msgstr" if word.startswith("msgstr") else word
                if key == "msgstr":
                    entry["msgstr"].append(ast.literal_eval(literal))
                else:
                    entry[key] = ast.literal_eval(literal)
        if entry.get("msgid"):
            entries.append(entry)
    return entries


def test_every_message_has_an_english_translation_and_the_compiled_catalog_matches():
    entries = po_entries(CATALOG / "django.po")
    assert len(entries) > 400
    untranslated = [entry["msgid"] for entry in entries if not all(entry["msgstr"])]
    fuzzy = [entry["msgid"] for entry in entries if "fuzzy" in entry["flags"]]
    assert untranslated == []
    assert fuzzy == []
    with (CATALOG / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    stale = [
        entry["msgid"]
        for entry in entries
        if "msgid_plural" not in entry and catalog.gettext(entry["msgid"]) != entry["msgstr"][0]
    ]
    assert stale == [], "run: python manage.py compilemessages -l en --ignore=.venv"


@pytest.mark.django_db
def test_chinese_is_the_default_and_an_english_browser_reads_english():
    home = community("C-1")
    record = register(home, name="张三")
    fresh(record.person_id)
    worker = factories.staff(organisation=home)
    chinese = logged_in(worker).get("/admin/communities/quarantinerecord/").content.decode()
    english = logged_in(worker, language="en-US,en;q=0.9").get("/admin/communities/quarantinerecord/").content.decode()
    assert "健康宝管理后台" in chinese and "当前健康状态" in chinese and "解除隔离" in chinese
    assert "Health Kit administration" in english
    assert "Current health status" in english
    assert "Lift quarantine" in english
    assert "Home observation" in english
    assert "健康宝管理后台" not in english


@pytest.mark.django_db
def test_the_language_switch_keeps_english_for_the_session_and_explains_in_english():
    home = community("C-1")
    record = register(home, name="张三")
    fresh(record.person_id)
    client = logged_in(factories.staff(organisation=home))
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    assert response.status_code == 302
    index = client.get("/admin/").content.decode()
    assert "Due to be lifted today" in index
    assert "People of this community by status" in index
    person = client.get(f"/admin/health/person/{record.person_id}/change/").content.decode()
    assert "Why this status" in person
    assert "The community registered a home quarantine, not yet lifted." in person
    # back to Chinese
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/admin/"})
    assert "今日到期待解除" in client.get("/admin/").content.decode()


@pytest.mark.django_db
def test_times_on_admin_pages_are_beijing_time():
    home = community("C-1")
    started = timezone.now().replace(microsecond=0) - timezone.timedelta(days=1)
    record = register(home, name="张三", started_at=started)
    page = logged_in(factories.staff(organisation=home)).get(f"/admin/communities/quarantinerecord/{record.pk}/change/")
    beijing = timezone.localtime(started)
    assert str(timezone.get_current_timezone()) == "Asia/Shanghai"
    assert beijing.utcoffset().total_seconds() == 8 * 3600
    html = page.content.decode()
    assert f"{beijing:%H:%M}" in html
