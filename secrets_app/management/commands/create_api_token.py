"""`manage.py create_api_token USER`: a token for scripts, its key printed once (R14)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from secrets_app.access.tokens import MAX_LIFETIME_DAYS, create_token
from secrets_app.management.secrets_command import SecretsCommand


class Command(SecretsCommand):
    help = (
        "Create an API token for USER and print its key once (only a hash is stored). Use it "
        "as `Authorization: Token <key>`. Users can also make and revoke their own tokens "
        "with POST /api/v1/tokens."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", metavar="USER")
        parser.add_argument("--name", default="command line", help="What the token is for.")
        parser.add_argument(
            "--expires-days", type=int, default=90,
            help="Days until it expires (default 90); 0 for a token that does not expire.",
        )

    def handle(self, *args, username, name, expires_days, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user named '{username}'.") from None
        try:
            token, key = create_token(user, name, expires_days or None)
        except ValidationError as error:
            if "expires_in_days" in getattr(error, "error_dict", {}):
                # The service's words are for the API (null = never); this option's never is 0.
                raise CommandError(
                    f"--expires-days must be 1-{MAX_LIFETIME_DAYS}, or 0 for a token that "
                    "never expires."
                ) from None
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(key)
        expiry = token.expires_at.date().isoformat() if token.expires_at else "never"
        self.stderr.write(f"Token '{token.name}' for {username} (expires: {expiry}). "
                          "The key above is shown only now.")
