"""The key-check sentinel (R17.21): a table with one row, a known text encrypted under the
installation's key at this migration. manage.py has already refused keys that do not open
the values stored before it (see secrets_app/keycheck.py)."""

from django.db import migrations, models

import secrets_app.fields


def write_sentinel(apps, schema_editor):
    from secrets_app.crypto import get_encryption_service
    from secrets_app.fields import Sealed
    from secrets_app.keycheck import SENTINEL_TEXT

    KeyCheck = apps.get_model("secrets_app", "KeyCheck")
    if not KeyCheck.objects.using(schema_editor.connection.alias).exists():
        token = get_encryption_service().encrypt(SENTINEL_TEXT)
        KeyCheck.objects.using(schema_editor.connection.alias).create(value=Sealed(token))


class Migration(migrations.Migration):
    dependencies = [
        ("secrets_app", "0005_secret_name_skeleton"),
    ]

    operations = [
        migrations.CreateModel(
            name="KeyCheck",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("value", secrets_app.fields.EncryptedField()),
            ],
        ),
        migrations.RunPython(write_sentinel, migrations.RunPython.noop),
    ]
