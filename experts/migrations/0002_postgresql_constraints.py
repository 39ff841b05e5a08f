"""PostgreSQL-only guarantees of the experts app.

* ``deployment_no_double_booking``: an expert never holds two confirmed (or completed)
  deployments whose date ranges overlap — the database's own refusal, behind the row lock
  that ``deployment_confirm`` takes. Needs the ``btree_gist`` extension (trusted since
  PostgreSQL 13, so the database owner may create it).
* ``expert_search_trgm``: a trigram index for roster search (``search_document LIKE``).

On SQLite (the embedded default) nothing happens: the service's lock is the guarantee.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    ALTER TABLE experts_deployment ADD CONSTRAINT deployment_no_double_booking
    EXCLUDE USING gist (
        expert_id WITH =,
        daterange(start_date, end_date, '[]') WITH &&
    ) WHERE (status IN ('confirmed', 'completed'))
    """,
    """
    CREATE INDEX expert_search_trgm ON experts_expert
    USING gin (search_document gin_trgm_ops)
    """,
]
BACKWARD = [
    "DROP INDEX IF EXISTS expert_search_trgm",
    "ALTER TABLE experts_deployment DROP CONSTRAINT IF EXISTS deployment_no_double_booking",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in FORWARD:
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in BACKWARD:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("experts", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
