"""The change stamps behind the assignment list's ETag (tasks_app/api/stamps.py).

PostgreSQL: a DEFERRABLE INITIALLY DEFERRED constraint trigger per row on each table the list
reads bumps the counters at commit, once per transaction and scope (a transaction-local setting
`tasks_api_stamp.<scope>` remembers it); `all` is always taken first, so committing writers queue on
it and never deadlock on the others. TRUNCATE bumps `all` and `meta` (statement triggers).
SQLite: row triggers in the writing transaction (one writer at a time).
"""

from django.db import migrations, models

ASSIGNMENTS = "tasks_app_assignment"
META_TABLES = ["tasks_app_task", "tasks_app_taskgroup", "tasks_app_unit", "tasks_app_official"]

PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION tasks_api_stamp_bump(key text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('tasks_api_stamp.' || key, true), '') <> '1' THEN
    INSERT INTO tasks_api_changestamp (scope, n) VALUES (key, 1)
      ON CONFLICT (scope) DO UPDATE SET n = tasks_api_changestamp.n + 1;
    PERFORM set_config('tasks_api_stamp.' || key, '1', true);
  END IF;
END $$;

CREATE OR REPLACE FUNCTION tasks_api_stamp_assignment() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  unit bigint;
  province bigint;
BEGIN
  PERFORM tasks_api_stamp_bump('all');
  FOREACH unit IN ARRAY (CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW.unit_id]
                                    WHEN 'DELETE' THEN ARRAY[OLD.unit_id]
                                    ELSE ARRAY[OLD.unit_id, NEW.unit_id] END) LOOP
    IF coalesce(current_setting('tasks_api_stamp.u' || unit, true), '') <> '1' THEN
      PERFORM tasks_api_stamp_bump('u' || unit);
      SELECT coalesce(parent_id, id) INTO province FROM tasks_app_unit WHERE id = unit;
      -- A unit deleted in the same transaction has bumped `meta`, which province readers read.
      IF province IS NOT NULL THEN
        PERFORM tasks_api_stamp_bump('p' || province);
      END IF;
    END IF;
  END LOOP;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tasks_api_stamp_meta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM tasks_api_stamp_bump('all');
  PERFORM tasks_api_stamp_bump('meta');
  RETURN NULL;
END $$;
"""


def pg_triggers() -> list[str]:
    statements = [PG_FUNCTIONS]
    for table in [ASSIGNMENTS, *META_TABLES]:
        function = "tasks_api_stamp_assignment" if table == ASSIGNMENTS else "tasks_api_stamp_meta"
        statements.append(
            f"CREATE CONSTRAINT TRIGGER tasks_api_stamp AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
        statements.append(
            f"CREATE TRIGGER tasks_api_stamp_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tasks_api_stamp_meta()"
        )
    return statements


def sqlite_triggers() -> list[str]:
    # Fixed table and column names only: no input reaches these statements.
    upsert = "ON CONFLICT(scope) DO UPDATE SET n = n + 1"

    def units(row: str) -> str:
        return (
            f"INSERT INTO tasks_api_changestamp (scope, n) SELECT 'u' || {row}.unit_id, 1 "  # noqa: S608
            f"UNION ALL SELECT 'p' || coalesce(parent_id, id), 1 FROM tasks_app_unit WHERE id = {row}.unit_id {upsert};"
        )

    bump_all = f"INSERT INTO tasks_api_changestamp (scope, n) VALUES ('all', 1) {upsert};"  # noqa: S608
    bump_meta = f"INSERT INTO tasks_api_changestamp (scope, n) VALUES ('meta', 1) {upsert};"  # noqa: S608
    statements = [
        f"CREATE TRIGGER tasks_api_stamp_insert AFTER INSERT ON {ASSIGNMENTS} BEGIN {bump_all} {units('NEW')} END",
        f"CREATE TRIGGER tasks_api_stamp_update AFTER UPDATE ON {ASSIGNMENTS} "
        f"BEGIN {bump_all} {units('OLD')} {units('NEW')} END",
        f"CREATE TRIGGER tasks_api_stamp_delete AFTER DELETE ON {ASSIGNMENTS} BEGIN {bump_all} {units('OLD')} END",
    ]
    for table in META_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER tasks_api_stamp_{event.lower()}_{table} AFTER {event} ON {table} "
                f"BEGIN {bump_all} {bump_meta} END"
            )
    return statements


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = pg_triggers() if vendor == "postgresql" else sqlite_triggers() if vendor == "sqlite" else []
    for statement in statements:
        schema_editor.execute(statement)
    ChangeStamp = apps.get_model("tasks_api", "ChangeStamp")
    ChangeStamp.objects.bulk_create([ChangeStamp(scope="all"), ChangeStamp(scope="meta")], ignore_conflicts=True)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in [ASSIGNMENTS, *META_TABLES]:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS tasks_api_stamp ON {table}")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS tasks_api_stamp_truncate ON {table}")
        for function in ("tasks_api_stamp_assignment()", "tasks_api_stamp_meta()", "tasks_api_stamp_bump(text)"):
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}")
    elif vendor == "sqlite":
        for event in ("insert", "update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS tasks_api_stamp_{event}")
            for table in META_TABLES:
                schema_editor.execute(f"DROP TRIGGER IF EXISTS tasks_api_stamp_{event}_{table}")


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_api", "0003_i15_portal_province"),
        ("tasks_app", "0006_i11_plan_extension_horizon"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChangeStamp",
            fields=[
                ("scope", models.CharField(max_length=24, primary_key=True, serialize=False)),
                ("n", models.BigIntegerField(default=0)),
            ],
            options={"verbose_name": "dấu thay đổi", "verbose_name_plural": "dấu thay đổi"},
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
