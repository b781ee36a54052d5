from django.db import migrations

GENESIS_HASH = "0" * 64


def create_head(apps, schema_editor):
    AuditChainHead = apps.get_model("audit_app", "AuditChainHead")
    AuditChainHead.objects.get_or_create(pk=1, defaults={"last_sequence": 0, "last_hash": GENESIS_HASH})


class Migration(migrations.Migration):
    dependencies = [("audit_app", "0001_initial")]
    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
