"""Seed thematic areas, the 23 GCM objectives and ISO 639-1 languages."""

from django.db import migrations


def load(apps, schema_editor):
    from cbportal.core.reference_data import load_core

    load_core(apps)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
