"""Reading the audit log becomes the permission `audit_app.view_auditlog`. Whoever could read
it before (active users holding the four secret permissions) keeps reading it: the
`Secrets administrators` group gets it (made here if missing, so this app needs no
migration of the secrets app), and so does any other user who held the four another way."""

from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen copies, as migrations are history: the group and the rule of the old check.
ADMIN_GROUP = "Secrets administrators"
SECRETS_ADMIN_CODENAMES = ["add_secret", "change_secret", "delete_secret", "decrypt_secret"]


def _view_permission(apps):
    # Permissions are normally made after migrate; make this one now so it can be given.
    app_config = apps.get_app_config("audit_app")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    return apps.get_model("auth", "Permission").objects.get(
        content_type__app_label="audit_app", codename="view_auditlog"
    )


def grant_to_earlier_readers(apps, view) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    group.permissions.add(view)

    admin_ids = set(Permission.objects.filter(
        content_type__app_label="secrets_app", codename__in=SECRETS_ADMIN_CODENAMES
    ).values_list("id", flat=True))
    if len(admin_ids) < len(SECRETS_ADMIN_CODENAMES):
        return  # a fresh database: no secrets permissions yet, so no one held them
    for user in User.objects.filter(is_superuser=False).exclude(groups=group):
        held = set(user.user_permissions.filter(id__in=admin_ids).values_list("id", flat=True))
        held |= set(Permission.objects.filter(group__user=user, id__in=admin_ids)
                    .values_list("id", flat=True))
        if held == admin_ids:
            user.user_permissions.add(view)


def grant(apps, schema_editor):
    grant_to_earlier_readers(apps, _view_permission(apps))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="audit_app",
                                     codename="view_auditlog").first()
    if view is not None:
        for group in apps.get_model("auth", "Group").objects.filter(name=ADMIN_GROUP):
            group.permissions.remove(view)


class Migration(migrations.Migration):
    dependencies = [
        ("audit_app", "0003_token_and_login_actions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [migrations.RunPython(grant, revoke)]
