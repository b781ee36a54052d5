"""`manage.py resolve_credential KEY`: which source answers for a key (R15)."""

from django.core.management.base import CommandError

from secrets_app.management.secrets_command import SecretsCommand
from secrets_app.services.reveal import reveal_resolution
from secrets_app.sources.chain import not_found_message, resolve


class Command(SecretsCommand):
    help = (
        "Show which source answers for KEY in a profile, asking in order: database -> "
        "environment -> config_file (when SECRETS_CONFIG_FILE is set) -> aws (when "
        "SECRETS_AWS_REGION is set). With --reveal the value is printed alone on standard output "
        "(for scripts) and the source goes to standard error; a reveal is audited as a "
        "decrypt. Exits with status 1 when no source holds the key."
    )

    def add_arguments(self, parser):
        parser.add_argument("key", metavar="KEY", help="A ConfigKey or any UPPER_SNAKE name.")
        self.add_profile_option(parser, "The profile to resolve for (default: default).")
        parser.add_argument("--reveal", action="store_true", help="Also print the value.")
        self.add_as_option(parser)

    def handle(self, *args, key, profile, reveal, as_user, **options):
        user = self.acting_user(as_user)
        try:
            resolution = resolve(key, profile)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if not resolution.found:
            raise CommandError(not_found_message(key, profile))
        line = f"{key} [{profile}]: {resolution.source}"
        if reveal:
            self.stderr.write(line)
            self.stdout.write_raw(reveal_resolution(resolution, user))  # the exact value
        else:
            self.stdout.write(line)
