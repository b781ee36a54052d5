"""The base of every secrets_app command: an AuditedCommand (escaped output, audit channel
`cli`) whose refusals end with a message, with the options the commands share."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError

from kozmo_secrets.audited_command import AuditedCommand
from secrets_app.access.permissions import ADMIN_GROUP, is_secrets_admin
from secrets_app.constants import DEFAULT_PROFILE, profiles
from secrets_app.keycheck import KeyCheckFailed
from secrets_app.services.reveal import RateLimited
from secrets_app.shared_cache import CacheUnavailable


class SecretsCommand(AuditedCommand):
    """A decrypt made for a user (--as) that the R10.3 limit refuses, or that cannot be counted
    because the shared cache is down (R17.19), what the --as user's grants do not allow
    (R18, audited by the service), and keys that may not be used (R17.21: they do not open
    what is stored) end with a message rather than a traceback."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except PermissionDenied as error:
            who = options.get("as_user") or "The acting user"
            why = getattr(error, "reason", None)
            raise CommandError(
                f"Refused: {who} may not do this ({why or error}). An admin can give a role "
                "on a profile with `manage.py grant --user USER --profile PROFILE --role "
                "reader|editor`. Nothing was changed or revealed."
            ) from None
        except (CacheUnavailable, KeyCheckFailed) as error:
            raise CommandError(str(error)) from None
        except RateLimited as error:
            raise CommandError(
                f"{error} The decrypt limit (SECRETS_DECRYPT_RATE) allows the next one in "
                f"{error.retry_after} s."
            ) from None

    @staticmethod
    def add_profile_option(parser, help_text: str, default=DEFAULT_PROFILE,
                           configured_only: bool = True) -> None:
        """--profile, its choices the configured profiles (SECRETS_PROFILES, R22), read when
        the command runs. configured_only=False leaves the check to the command (export
        also takes a profile that left the setting but still holds secrets)."""
        parser.add_argument(
            "--profile", choices=profiles() if configured_only else None, default=default,
            metavar="PROFILE", help=f"{help_text} One of: {', '.join(profiles())}.",
        )

    @staticmethod
    def add_as_option(parser) -> None:
        parser.add_argument(
            "--as", dest="as_user", metavar="USER",
            help="Record USER as the one acting, in created_by and the audit log; their grants "
                 "apply (an admin may do everything, a reader or an editor only what their "
                 "role allows in their profiles, R18). Without it the audit log records the "
                 "command line and your OS account, and nothing is refused.",
        )

    @staticmethod
    def acting_user(username: str | None):
        """The --as user: any active user; the services check what their grants allow."""
        if not username:
            return None
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user named '{username}'.") from None
        if not user.is_active:
            raise CommandError(f"'{username}' is deactivated: choose an active user for --as.")
        return user

    @classmethod
    def acting_admin(cls, username: str | None):
        """The --as user of an admin-only command (grants, service tokens): a secrets admin."""
        user = cls.acting_user(username)
        if user is not None and not is_secrets_admin(user):
            raise CommandError(
                f"'{username}' is not a secrets admin (superuser, or member of the group "
                f"'{ADMIN_GROUP}'): only admins manage grants and service tokens."
            )
        return user
