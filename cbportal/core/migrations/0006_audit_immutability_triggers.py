"""On PostgreSQL, the database itself refuses to change or delete audit entries and
transition events, whatever the code (a bulk ``QuerySet.update``/``delete`` skips the
models' own refusal). Allowed, row by row:

- the actor becoming NULL and nothing else (deleting an account: ``on_delete=SET_NULL``);
- blanking names, comments, details and references, in a transaction that called
  ``cbportal.core.audit.allow_erasure`` (the erasure of an expert's personal data);
- moving ``created_at``, in a transaction that called ``audit.allow_demo_history``
  (``seed_demo`` spreads the demo timelines over a year).

TRUNCATE is not refused (the test runner empties tables with it). SQLite gets no trigger:
Django's own flush deletes rows there.
"""

from typing import Any

from django.db import migrations

TABLES = ("core_auditentry", "core_transitionevent")

FUNCTION = """
CREATE OR REPLACE FUNCTION cbportal_history_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.actor_id IS NULL
           AND to_jsonb(NEW) - 'actor_id' = to_jsonb(OLD) - 'actor_id' THEN
            RETURN NEW;
        END IF;
        IF current_setting('cbportal.erasure', true) = 'on'
           AND to_jsonb(NEW) - ARRAY['actor_name', 'comment', 'details', 'target_repr']
               = to_jsonb(OLD) - ARRAY['actor_name', 'comment', 'details', 'target_repr'] THEN
            RETURN NEW;
        END IF;
        IF current_setting('cbportal.demo_history', true) = 'on'
           AND to_jsonb(NEW) - 'created_at' = to_jsonb(OLD) - 'created_at' THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% rows are immutable: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
"""


def create_triggers(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # No parameters: the function's own "%" placeholders must reach PostgreSQL untouched.
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION cbportal_history_guard()"
        )


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS cbportal_history_guard()")


class Migration(migrations.Migration):
    dependencies = [("core", "0005_audit_entry")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
