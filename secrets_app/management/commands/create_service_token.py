"""`manage.py create_service_token NAME`: a read-only token for a program, its key printed
once (R19)."""

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from secrets_app.access.service_tokens import DEFAULT_LIFETIME_DAYS, create_service_token
from secrets_app.access.tokens import MAX_LIFETIME_DAYS
from secrets_app.constants import profiles as configured_profiles
from secrets_app.management.secrets_command import SecretsCommand

OPTIONS = {"name": "NAME", "profiles": "--profile", "keys": "--key",
           "allowed_networks": "--network"}


class Command(SecretsCommand):
    help = (
        "Create a service token for a program: it may list and decrypt the secrets of its "
        "profiles (and, with --key, only keys matching a pattern), from its networks only "
        "(--network), and nothing else. The key is printed ONCE, alone on standard output "
        "(so `KEY=$(manage.py create_service_token etl --profile production)` captures it); "
        "a note about the token goes to standard error. Only a digest is stored. Use it as "
        "`Authorization: Token <key>` or `Bearer <key>`. Audited (SERVICE_TOKEN_CREATE)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", metavar="NAME", help="The program using it, e.g. etl.")
        parser.add_argument(
            "--profile", dest="profiles", action="append", metavar="PROFILE", default=[],
            help=f"A profile it may read; repeat for more. One of: "
                 f"{', '.join(configured_profiles())}.")
        parser.add_argument(
            "--key", dest="keys", action="append", metavar="GLOB", default=[],
            help="Only keys matching this shell-style pattern, e.g. 'POSTGRES_*' (quote it); "
                 "repeat for more. Default: every key of its profiles.")
        parser.add_argument(
            "--network", dest="networks", action="append", metavar="CIDR", default=[],
            help="Only from this client network, e.g. 10.0.0.0/8; repeat for more. "
                 "Default: anywhere.")
        expiry = parser.add_mutually_exclusive_group()
        expiry.add_argument(
            "--expires-days", type=int, default=DEFAULT_LIFETIME_DAYS, metavar="DAYS",
            help=f"Days until it expires, 1-{MAX_LIFETIME_DAYS} (default "
                 f"{DEFAULT_LIFETIME_DAYS}).")
        expiry.add_argument("--never-expires", action="store_true",
                            help="A token that does not expire (revoke it when done).")
        parser.add_argument(
            "--as", dest="as_user", metavar="ADMIN",
            help="Record ADMIN (a secrets admin) as its creator, whom its audit rows name. "
                 "Without it the audit log records the command line and your OS account.")

    def handle(self, *args, name, profiles, keys, networks, expires_days, never_expires,
               as_user, **options):
        creator = self.acting_admin(as_user)
        if not profiles:
            raise CommandError("Give at least one --profile the token may read, from "
                               f"{', '.join(configured_profiles())}.")
        try:
            token, key = create_service_token(
                creator, name=name, profiles=profiles, keys=keys, allowed_networks=networks,
                expires_in_days=None if never_expires else expires_days,
            )
        except ValidationError as error:
            problems = error.message_dict
            if "expires_in_days" in problems:
                # The service's words are for the API (null = never); here it is an option.
                raise CommandError(f"--expires-days must be 1-{MAX_LIFETIME_DAYS}; use "
                                   "--never-expires for a token that never expires.") from None
            raise CommandError(" ".join(
                f"{OPTIONS.get(field, field)}: {' '.join(messages)}"
                for field, messages in problems.items())) from None
        self.stdout.write(key)
        expiry = token.expires_at.date().isoformat() if token.expires_at else "never"
        scope = ", ".join(token.profiles)
        if token.key_patterns:
            scope += f"; keys {', '.join(token.key_patterns)}"
        if token.allowed_networks:
            scope += f"; from {', '.join(token.allowed_networks)}"
        note = (f"Service token '{token.name}' (id {token.pk}, {token.prefix}…) reads {scope} "
                f"(expires: {expiry}). The key above is shown only now.")
        if creator is None:
            # Allowed (an operator without an account), but the audit trail should say so.
            note += " Its audit rows name no admin; pass --as ADMIN to name one."
        self.stderr.write(note)
