"""Who is a secrets admin (R2, R3.6), and the R2.2 refusal. What anyone else may do is
access/policy.py's to say, which asks this first."""

from django.core.exceptions import PermissionDenied

ADMIN_GROUP = "Secrets administrators"
ADMIN_PERMISSIONS = (
    "secrets_app.add_secret",
    "secrets_app.change_secret",
    "secrets_app.delete_secret",
    "secrets_app.decrypt_secret",
)
ADMIN_REQUIRED = "Admin privileges required"


def is_secrets_admin(user) -> bool:
    """Active users holding every secrets permission (superusers hold them all)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.has_perms(ADMIN_PERMISSIONS)


class AdminRequired(PermissionDenied):
    """The R2.2 refusal: 403 "Admin privileges required", whatever the missing right was."""

    def __init__(self, message: str = ADMIN_REQUIRED):
        super().__init__(message)
