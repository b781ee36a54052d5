"""Look-alike names (R17.11): every secret gets the digest of its name's UTS 39 skeleton, and
a profile may hold each skeleton once. The names' and keys' validators become those of
secrets_app.validation (no control or invisible characters in names; keys matched whole).

Existing rows are filled here. The migration stops, changing nothing, and lists the names to
fix if a stored name breaks the new name rules (an invisible or control character, blank, too
long) or two secrets in one profile have look-alike names: rename or delete them with the
previous version (console or API), then migrate again.
"""

from django.core.management.base import CommandError
from django.db import migrations, models

import secrets_app.validation


def fill_skeletons(apps, schema_editor):
    from secrets_app.validation import describe_name, escape_name, name_problems, skeleton_digest

    Secret = apps.get_model("secrets_app", "Secret")
    groups: dict[tuple[str, str], list[str]] = {}
    bad: list[tuple[str, str, list[str]]] = []
    rows = []
    for secret in Secret.objects.only("id", "name", "profile").iterator():
        problems = name_problems(secret.name)
        if problems:  # reported on its own; its look-alikes are checked once it is fixed
            bad.append((secret.profile, secret.name, problems))
            continue
        secret.name_skeleton = skeleton_digest(secret.name)
        groups.setdefault((secret.profile, secret.name_skeleton), []).append(secret.name)
        rows.append(secret)
    clashes = [(profile, names) for (profile, _), names in groups.items() if len(names) > 1]
    sections = []
    if bad:
        lines = "\n".join(
            f"  {escape_name(name)} in profile {profile}: {' '.join(problems)}"
            for profile, name, problems in sorted(bad)
        )
        sections.append(f"These secrets have names the new name rules refuse:\n{lines}")
    if clashes:
        lines = "\n".join(
            f"  {profile}: {', '.join(describe_name(name) for name in sorted(names))}"
            for profile, names in sorted(clashes)
        )
        sections.append(
            "These secrets have names that look the same in one profile (Unicode look-alikes, "
            f"UTS 39):\n{lines}\nKeep one of each group."
        )
    if sections:
        raise CommandError(
            "\n".join(sections) + "\nNothing was migrated. Rename or delete these secrets with "
            "the previous version of Kozmo Secrets (in the console or the API), then run "
            "migrate again."
        )
    Secret.objects.bulk_update(rows, ["name_skeleton"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("secrets_app", "0004_trigram_search")]

    operations = [
        migrations.AddField(
            model_name="secret",
            name="name_skeleton",
            field=models.CharField(default="", editable=False, max_length=64),
        ),
        migrations.RunPython(fill_skeletons, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="secret",
            constraint=models.UniqueConstraint(
                fields=("name_skeleton", "profile"),
                name="secret_unique_skeleton_per_profile",
                violation_error_message="Secret with this name already exists",
            ),
        ),
        migrations.AlterField(
            model_name="secret",
            name="name",
            field=models.CharField(
                max_length=255, validators=[secrets_app.validation.validate_name]
            ),
        ),
        migrations.AlterField(
            model_name="secret",
            name="key",
            field=models.CharField(
                max_length=255, validators=[secrets_app.validation.validate_key]
            ),
        ),
    ]
