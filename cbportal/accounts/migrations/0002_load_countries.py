"""Load every ISO 3166-1 country with its UN M49 region (data/countries.csv)."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "countries.csv"


def load(apps, schema_editor):
    Country = apps.get_model("accounts", "Country")
    with DATA.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    existing = set(Country.objects.values_list("code", flat=True))
    Country.objects.bulk_create(
        [Country(**row) for row in rows if row["code"] not in existing], batch_size=500
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
