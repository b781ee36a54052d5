"""`manage.py resolve_credential KEY [KEY…]`: which source answers for each key (R15), and
with --format the credentials themselves, in the API's shape (R20)."""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from kozmo_secrets import client
from secrets_app.access.policy import refuse
from secrets_app.child_env import is_server_configuration
from secrets_app.management.secrets_command import SecretsCommand
from secrets_app.services.credentials import SERVER_CONFIGURATION, fetch_credentials
from secrets_app.services.reveal import caller_access, refusal_reason, reveal_resolution
from secrets_app.sources.chain import not_found_message, resolve_many

FORMATS = ("json", "dotenv")


class Command(SecretsCommand):
    help = (
        "Show which source answers for each KEY in a profile, asking in order: database -> "
        "environment -> config_file (when SECRETS_CONFIG_FILE is set) -> aws (when "
        "SECRETS_AWS_REGION is set). With --format json|dotenv the values are printed, in the "
        "shape of GET /api/v1/credentials (json) or as KEY=\"value\" lines (dotenv), audited as "
        "one decrypt naming every key; the server's own configuration (DJANGO_*, SECRETS_*, "
        "KOZMO_*, DATABASE_URL, REDIS_URL) is never printed. With --reveal and one KEY the "
        "value is printed alone on standard output (for scripts) and the source goes to "
        "standard error. Exits with status 1 when a key is held by no source (with --format, "
        "after printing the others)."
    )

    def add_arguments(self, parser):
        parser.add_argument("keys", metavar="KEY", nargs="+",
                            help="A ConfigKey or any UPPER_SNAKE name; several may be given.")
        self.add_profile_option(parser, "The profile to resolve for (default: default).")
        parser.add_argument("--reveal", action="store_true",
                            help="Also print the value (one KEY only).")
        parser.add_argument("--format", choices=FORMATS, dest="output_format",
                            help="Print the values: json (the API's answer) or dotenv.")
        self.add_as_option(parser)

    def handle(self, *args, keys, profile, reveal, output_format, as_user, **options):
        user = self.acting_user(as_user)
        if output_format:
            if reveal:
                raise CommandError("Use --reveal or --format, not both.")
            return self.print_credentials(user, profile, keys, output_format)
        if reveal and len(keys) > 1:
            raise CommandError("--reveal prints one value: name one KEY, or use "
                               "--format json|dotenv for several.")
        if reveal and is_server_configuration(keys[0]):  # never printed, as in the API
            raise CommandError(f"{keys[0]} [{profile}]: not found in any source a caller may "
                               f"read: {SERVER_CONFIGURATION}.")
        # In the acting user's scope, as the API's /credentials: keys outside it refused
        # (audited), and no fallback to a `default` they may not read (R18, R20).
        access = caller_access(user)
        try:
            resolutions = resolve_many(keys, profile, fallback=access.falls_back)
        except ValueError as error:
            raise CommandError(str(error)) from None
        outside = [(profile, key) for key in keys if not access.reads(profile, key)]
        if outside and not reveal:  # a reveal is refused, audited, by its own decrypt gate
            raise refuse(user, "resolve_credential", refusal_reason(access, outside),
                         secret_profile=profile)
        missing = [key for key, resolution in resolutions.items() if not resolution.found]
        if reveal and not missing:
            resolution = resolutions[keys[0]]
            self.stderr.write(f"{resolution.key} [{profile}]: {resolution.source}")
            self.stdout.write_raw(reveal_resolution(resolution, user))  # the exact value
            return
        for key, resolution in resolutions.items():
            if resolution.found:
                self.stdout.write(f"{key} [{profile}]: {resolution.source}")
        if missing:
            raise CommandError(" ".join(not_found_message(key, profile) for key in missing))

    def print_credentials(self, user, profile, keys, output_format):
        try:
            answer = fetch_credentials(user, profile, keys)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if output_format == "json":
            self.stdout.write_raw(json.dumps(answer.as_dict(), indent=2) + "\n")
        else:
            try:  # the client's writer: one .env dialect, read back by python-dotenv
                self.stdout.write_raw(client.dotenv(answer.values), ending="")
            except client.Failure as error:
                raise CommandError(str(error)) from None
        if answer.missing:
            raise CommandError(f"Not found in any configured source for [{profile}]: "
                               f"{', '.join(answer.missing)}.")
