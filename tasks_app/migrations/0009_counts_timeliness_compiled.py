from django.db import migrations


def reinstall(apps, schema_editor):
    """The counts' SQL function of the timeliness rule, now compiled from
    `lifecycle.timeliness_expression` (counts.timeliness_case) instead of written out by hand: the
    same classes, from the one rule."""
    from tasks_app import counts

    if schema_editor.connection.vendor != "postgresql":
        return
    counts.install()


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_app", "0008_i14b_counts"),
    ]

    operations = [
        migrations.RunPython(reinstall, migrations.RunPython.noop),
    ]
