"""Stored names in the one normal form every comparison uses (health.identity.name_normalise):
Unicode NFC, whitespace folded. Names stored before were folded but not composed."""

import unicodedata

from django.db import migrations

BATCH = 5000


def normalise(name: str) -> str:
    # A copy of health.identity.name_normalise as it is at this migration (migrations do not import app code).
    return " ".join(unicodedata.normalize("NFC", name).split())


def names_normalise(apps, schema_editor):
    Person = apps.get_model("health", "Person")
    changed = []
    for pk, name in Person.objects.order_by("pk").values_list("pk", "name").iterator(chunk_size=BATCH):
        normal = normalise(name)
        if normal != name:
            changed.append(Person(pk=pk, name=normal))
        if len(changed) >= BATCH:
            Person.objects.bulk_update(changed, ["name"])
            changed = []
    if changed:
        Person.objects.bulk_update(changed, ["name"])


class Migration(migrations.Migration):
    dependencies = [("health", "0012_policy_bounds_and_planned_start")]

    operations = [migrations.RunPython(names_normalise, migrations.RunPython.noop, elidable=True)]
