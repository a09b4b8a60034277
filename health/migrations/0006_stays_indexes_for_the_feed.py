"""Stays keep only the indexes a query needs: the feed writes every index of every row it imports.

The region foreign key's own index and its varchar_pattern_ops twin duplicate (region, left_at),
on which the fan-out's prefix search is now a range of codes; the purge finds old stays per region
on (region, left_at) too, so left_at loses its own index. Only the indexes are dropped: the foreign
key stays as it is (Django's AlterField would drop it and validate it again over the whole table).
"""

import django.db.models.deletion
from django.db import migrations, models

REGION_INDEX = "health_itinerarystay_region_id_2ccf9ca4"


def region_indexes_drop(apps, schema_editor):
    schema_editor.execute(f'DROP INDEX IF EXISTS "{REGION_INDEX}_like"')
    schema_editor.execute(f'DROP INDEX IF EXISTS "{REGION_INDEX}"')


def region_indexes_create(apps, schema_editor):
    schema_editor.execute(f'CREATE INDEX "{REGION_INDEX}" ON "health_itinerarystay" ("region_id")')
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX "{REGION_INDEX}_like" ON "health_itinerarystay" ("region_id" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("health", "0005_stays_person_index_from_unique"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="itinerarystay",
            name="stay_left_at",
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(region_indexes_drop, region_indexes_create)],
            state_operations=[
                migrations.AlterField(
                    model_name="itinerarystay",
                    name="region",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="health.region",
                        verbose_name="城市",
                    ),
                ),
            ],
        ),
    ]
