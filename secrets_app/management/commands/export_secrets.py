"""`manage.py export_secrets`: write secrets in plaintext as YAML or dotenv (R16)."""

import os

from django.core.management.base import CommandError

from secrets_app.constants import (
    DEFAULT_PROFILE,
    KEY_PATTERN,
    profiles,
    unknown_profile_message,
)
from secrets_app.formats.export import FORMATS, exportable_name, shaped, to_dotenv, to_yaml
from secrets_app.management.secrets_command import SecretsCommand
from secrets_app.models import Secret
from secrets_app.services.reveal import DecryptFailed, reveal_secrets


class Command(SecretsCommand):
    help = (
        "Write secrets in PLAINTEXT as an io_config.yaml-shaped YAML file or a .env file, "
        "entries named by secret name, which import_secrets reads back unchanged. A value "
        "imported from a mapping or list is written back as one in YAML (as JSON text in "
        "dotenv); a connector block (trino:) under its lowercase name, in YAML only. Secrets "
        "whose name import_secrets could not read back are left out (with a warning). A "
        "template imported with --templates keep is written as it was, for Mage to resolve; "
        "import it again with --templates keep. Every exported value is audited as a "
        "decrypt. Files written with --output are readable by you alone (mode 600)."
    )

    def add_arguments(self, parser):
        self.add_profile_option(
            parser,
            "Export only this profile. YAML without --profile exports every profile; dotenv "
            "exports one (default: default). A profile no longer in SECRETS_PROFILES is "
            "exported too while it holds secrets.",
            default=None, configured_only=False,
        )
        parser.add_argument(
            "--format", dest="file_format", choices=FORMATS, default="yaml",
            help="yaml (default) or dotenv.",
        )
        parser.add_argument(
            "--output", metavar="FILE",
            help="Write to FILE (created with mode 600) instead of standard output.",
        )
        self.add_as_option(parser)

    def handle(self, *args, profile, file_format, output, as_user, **options):
        user = self.acting_user(as_user)
        if file_format == "dotenv" and not profile:
            profile = DEFAULT_PROFILE
        if profile and profile not in profiles() and not Secret.objects.filter(
                profile=profile).exists():
            # A profile taken out of the setting stays exportable while it holds secrets.
            raise CommandError(f"--profile: {unknown_profile_message(profile)}.")
        secrets = Secret.objects.order_by("profile", "name")
        if profile:
            secrets = secrets.filter(profile=profile)
        exportable = []
        for secret in secrets:
            if KEY_PATTERN.match(secret.name) or (
                    file_format == "yaml"
                    and exportable_name(secret.name, secret.value_format)):
                exportable.append(secret)
            elif file_format == "dotenv" and exportable_name(secret.name, secret.value_format):
                self.stderr.write(
                    f"Left out '{secret.name}' ({secret.profile}): a connector block is "
                    "exported in YAML only (--format yaml)."
                )
            else:
                self.stderr.write(
                    f"Left out '{secret.name}' ({secret.profile}): its name is not an "
                    "UPPER_SNAKE key, so import_secrets could not read it back. Rename it to "
                    "export it."
                )
        try:
            values = reveal_secrets(exportable, user, via="export_secrets")
        except DecryptFailed as error:
            raise CommandError(f"{error}. Nothing was exported.") from None
        by_profile: dict[str, dict] = {}
        for secret in exportable:
            value = values[secret.pk]
            if file_format == "yaml":  # a mapping or list as one (R22); dotenv: the text
                value = shaped(value, secret.value_format)
            by_profile.setdefault(secret.profile, {})[secret.name] = value
        if file_format == "dotenv":
            text = to_dotenv(by_profile.get(profile, {}))
        else:
            text = to_yaml(by_profile)
        if output:
            try:
                # No following a planted symlink; an existing file is narrowed to 600 too.
                descriptor = os.open(
                    output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600
                )
            except OSError as error:
                raise CommandError(f"Cannot write {output}: {error.strerror}.") from None
            os.fchmod(descriptor, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stderr.write(f"Exported {len(exportable)} secret(s) to {output}.")
        else:
            self.stdout.write_raw(text, ending="")  # the exact values, for a pipe
