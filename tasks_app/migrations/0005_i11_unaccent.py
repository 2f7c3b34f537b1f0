"""PostgreSQL's `unaccent` extension for search without diacritics (tasks_app/search.py).

A trusted extension since PostgreSQL 13: the database's owner may create it. SQLite needs
nothing here; it gets the `fold` function on each connection.
"""

from django.db import migrations


def create_unaccent(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")


class Migration(migrations.Migration):
    dependencies = [("tasks_app", "0004_i16_source_document_inspections")]

    operations = [migrations.RunPython(create_unaccent, migrations.RunPython.noop, elidable=False)]
