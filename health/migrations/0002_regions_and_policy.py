"""Load the GB/T 2260 regions from python-stdnum's table, and the first policy version."""
from django.db import migrations


def load(apps, schema_editor):
    from health.regions_data import region_rows

    Region = apps.get_model("health", "Region")
    Policy = apps.get_model("health", "Policy")
    Organisation = apps.get_model("health", "Organisation")
    seen = {}
    for code, name, full_name, level, current in region_rows():
        seen[code] = Region(code=code, name=name[:64], full_name=full_name[:128], level=level, is_current=current)
    Region.objects.bulk_create(seen.values(), batch_size=2000, ignore_conflicts=True)
    Policy.objects.get_or_create(
        version=1,
        defaults={"eligible_provinces": ["11", "12", "13"], "home_region": "110000", "comment": "v1 (status-rules.md)"},
    )
    names = {
        "health": "卫生健康委员会",
        "police": "公安局",
        "border": "海关边检",
        "community_affairs": "社区事务部门",
        "aviation": "民航",
        "railway": "铁路",
        "platform": "国家政务服务平台",
    }
    for kind, name in names.items():
        Organisation.objects.get_or_create(kind=kind, code=kind, defaults={"name": name})


def unload(apps, schema_editor):
    apps.get_model("health", "Region").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("health", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
