"""Load every ISO 3166-1 country with its UN M49 region."""

from django.db import migrations


def load(apps, schema_editor):
    from cbportal.core.reference_data import load_countries

    load_countries(apps)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
