"""Seed the default business types (editable afterwards by the bureau administrator)."""

from django.db import migrations

DEFAULT_TYPES = [
    ("portal", "门户网站"),
    ("teaching", "教学"),
    ("management", "管理"),
    ("admission_exam", "招生考试"),
    ("campus_card", "校园一卡通"),
    ("security_video", "安防视频"),
    ("office", "办公"),
    ("data_platform", "数据平台"),
    ("other", "其他"),
]


def seed(apps, schema_editor):
    BusinessType = apps.get_model("assets", "BusinessType")
    for order, (code, name) in enumerate(DEFAULT_TYPES, start=1):
        BusinessType.objects.get_or_create(code=code, defaults={"name": name, "order": order * 10})


def unseed(apps, schema_editor):
    BusinessType = apps.get_model("assets", "BusinessType")
    # Only the untouched defaults that no system uses: anything edited or referenced stays.
    for order, (code, name) in enumerate(DEFAULT_TYPES, start=1):
        BusinessType.objects.filter(code=code, name=name, order=order * 10, systems__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("assets", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
