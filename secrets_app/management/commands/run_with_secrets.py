"""`manage.py run_with_secrets -- CMD ARGS...`: run a program with a profile's secrets in its
environment (R16)."""

import argparse
import subprocess
import sys

from django.core.management.base import CommandError

from kozmo_secrets import client
from secrets_app.child_env import child_environment
from secrets_app.management.secrets_command import SecretsCommand
from secrets_app.services.reveal import DecryptFailed, profile_secrets, reveal_secrets


class Command(SecretsCommand):
    help = (
        "Run CMD with the profile's secrets added to its environment, one variable per key "
        "(the profile's own, plus default's for keys it lacks; they replace variables of the "
        "same name). The server's own configuration (DJANGO_*, SECRETS_*, KOZMO_*, "
        "DATABASE_URL, REDIS_URL, anything only .env set) is not passed on, nor a secret "
        "whose key changes how programs start or where they are found (PATH, LD_PRELOAD, "
        "PYTHONPATH, BASH_ENV, NODE_OPTIONS...: the kozmo client's list) unless --allow-env "
        "names it. "
        "Values are never printed; each is audited as a decrypt. Exits with "
        "CMD's exit status. Put -- before CMD: run_with_secrets --profile staging -- env"
    )

    def add_arguments(self, parser):
        self.add_profile_option(parser, "Whose secrets to pass (default: default).")
        self.add_as_option(parser)
        parser.add_argument(
            "--allow-env", action="append", default=[], metavar="NAME",
            help="Pass this secret even though its key changes how programs start (PATH, "
                 "LD_PRELOAD...); repeat for several.",
        )
        parser.add_argument(
            "command", nargs=argparse.REMAINDER, metavar="CMD ARGS",
            help="The program and its arguments, after --.",
        )

    def handle(self, *args, profile, as_user, command, allow_env, **options):
        if command[:1] == ["--"]:
            command = command[1:]
        if not command:
            raise CommandError("Give the command to run after --, e.g. run_with_secrets -- env")
        user = self.acting_user(as_user)
        allowed = {name.upper() for name in allow_env}
        secrets, held_back = [], []
        for secret in profile_secrets(profile):
            unsafe = client.is_unsafe_env_name(secret.key) and secret.key.upper() not in allowed
            (held_back if unsafe else secrets).append(secret)
        if held_back:  # an editor of the profile must not choose the code the command runs
            self.stderr.write(
                "Not passed (they change how programs start; --allow-env NAME passes one): "
                + ", ".join(secret.key for secret in held_back))
        try:
            plaintexts = reveal_secrets(secrets, user, via="run_with_secrets")
        except DecryptFailed as error:
            raise CommandError(f"{error}. The command was not started.") from None
        values = {secret.key: plaintexts[secret.pk] for secret in secrets}
        for key, value in values.items():
            if "\x00" in value:
                raise CommandError(
                    f"{key} holds a NUL character, which an environment variable cannot carry. "
                    "The command was not started."
                )
        environment = child_environment(values)  # never the server's own configuration
        try:
            completed = subprocess.run(command, env=environment, check=False)  # noqa: S603
        except FileNotFoundError:
            raise CommandError(f"Command not found: {command[0]}") from None
        except PermissionError:
            raise CommandError(f"Command not executable: {command[0]}") from None
        code = completed.returncode
        sys.exit(128 - code if code < 0 else code)  # killed by signal N: 128 + N, as shells do
