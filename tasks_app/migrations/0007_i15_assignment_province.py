"""The assignment's province, denormalised and kept by the database (issue 15: the province wall
costs at most 10% against the unscoped query).

`province_id` is the unit's province (`scope.province_of`: the unit's parent, or the unit itself
when it has none). Triggers keep it on every write path, the ORM's and COPY, raw SQL and bulk
writes alike:
- on an assignment inserted, or updated (its unit may change), it is read from the unit;
- on a unit whose parent changes, its assignments follow.
PostgreSQL and SQLite (`make demo`) each get their own triggers.
"""

import django.db.models.deletion
from django.db import migrations, models

PG_FORWARD = [
    """
CREATE OR REPLACE FUNCTION tasks_app_assignment_province() RETURNS trigger AS $$
BEGIN
    SELECT COALESCE(u.parent_id, u.id) INTO NEW.province_id FROM tasks_app_unit u WHERE u.id = NEW.unit_id;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER tasks_app_assignment_province_ins BEFORE INSERT ON tasks_app_assignment
FOR EACH ROW EXECUTE FUNCTION tasks_app_assignment_province()
""",
    """
CREATE TRIGGER tasks_app_assignment_province_upd BEFORE UPDATE ON tasks_app_assignment
FOR EACH ROW WHEN (NEW.unit_id IS DISTINCT FROM OLD.unit_id OR NEW.province_id IS DISTINCT FROM OLD.province_id)
EXECUTE FUNCTION tasks_app_assignment_province()
""",
    """
CREATE OR REPLACE FUNCTION tasks_app_unit_moves_assignments() RETURNS trigger AS $$
BEGIN
    UPDATE tasks_app_assignment SET province_id = COALESCE(NEW.parent_id, NEW.id)
    WHERE unit_id = NEW.id AND province_id IS DISTINCT FROM COALESCE(NEW.parent_id, NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER tasks_app_unit_moves_assignments AFTER UPDATE OF parent_id ON tasks_app_unit
FOR EACH ROW WHEN (NEW.parent_id IS DISTINCT FROM OLD.parent_id)
EXECUTE FUNCTION tasks_app_unit_moves_assignments()
""",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS tasks_app_unit_moves_assignments ON tasks_app_unit",
    "DROP FUNCTION IF EXISTS tasks_app_unit_moves_assignments()",
    "DROP TRIGGER IF EXISTS tasks_app_assignment_province_upd ON tasks_app_assignment",
    "DROP TRIGGER IF EXISTS tasks_app_assignment_province_ins ON tasks_app_assignment",
    "DROP FUNCTION IF EXISTS tasks_app_assignment_province()",
]
# SQLite has no BEFORE trigger that can change NEW: an AFTER trigger corrects the row it wrote
# (its UPDATE does not fire the update trigger again: it checks the value first).
SQLITE_FORWARD = [
    """
CREATE TRIGGER tasks_app_assignment_province_ins AFTER INSERT ON tasks_app_assignment
FOR EACH ROW BEGIN
    UPDATE tasks_app_assignment
    SET province_id = (SELECT COALESCE(u.parent_id, u.id) FROM tasks_app_unit u WHERE u.id = NEW.unit_id)
    WHERE id = NEW.id;
END
""",
    """
CREATE TRIGGER tasks_app_assignment_province_upd AFTER UPDATE ON tasks_app_assignment
FOR EACH ROW WHEN NEW.province_id IS NOT
    (SELECT COALESCE(u.parent_id, u.id) FROM tasks_app_unit u WHERE u.id = NEW.unit_id)
BEGIN
    UPDATE tasks_app_assignment
    SET province_id = (SELECT COALESCE(u.parent_id, u.id) FROM tasks_app_unit u WHERE u.id = NEW.unit_id)
    WHERE id = NEW.id;
END
""",
    """
CREATE TRIGGER tasks_app_unit_moves_assignments AFTER UPDATE OF parent_id ON tasks_app_unit
FOR EACH ROW WHEN NEW.parent_id IS NOT OLD.parent_id BEGIN
    UPDATE tasks_app_assignment SET province_id = COALESCE(NEW.parent_id, NEW.id) WHERE unit_id = NEW.id;
END
""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS tasks_app_unit_moves_assignments",
    "DROP TRIGGER IF EXISTS tasks_app_assignment_province_upd",
    "DROP TRIGGER IF EXISTS tasks_app_assignment_province_ins",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, [])
        for statement in statements:
            schema_editor.execute(statement)

    return run


def backfill(apps, schema_editor):
    schema_editor.execute(
        "UPDATE tasks_app_assignment SET province_id = "
        "(SELECT COALESCE(u.parent_id, u.id) FROM tasks_app_unit u WHERE u.id = tasks_app_assignment.unit_id)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_app", "0006_i11_plan_extension_horizon"),
    ]

    operations = [
        migrations.AddField(
            model_name="assignment",
            name="province",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="tasks_app.unit",
                verbose_name="tỉnh, thành phố",
            ),
        ),
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
