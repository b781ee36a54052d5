"""Create the `Secrets administrators` group holding every secrets permission."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN_GROUP = "Secrets administrators"
CODENAMES = ["add_secret", "change_secret", "delete_secret", "decrypt_secret", "view_secret"]


def create_group(apps, schema_editor):
    # Permissions are normally made after migrate; make them now so the group can hold them.
    app_config = apps.get_app_config("secrets_app")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="secrets_app", codename__in=CODENAMES)
    )


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=ADMIN_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("secrets_app", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_group, delete_group)]
