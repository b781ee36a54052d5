"""Who is a secrets admin (R2, R3.6): the one helper every view, viewset and template asks,
and the service layer's admin gate."""

from django.core.exceptions import PermissionDenied

from audit_app.context import current as current_context
from audit_app.models import Channel

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
    def __init__(self, message: str = ADMIN_REQUIRED):
        super().__init__(message)


def require_admin(user) -> None:
    if not is_secrets_admin(user):
        raise AdminRequired()


def require_admin_or_operator(user) -> None:
    """Admins, or the operator at the command line (user None on channel `cli`): whoever runs
    manage.py already holds the encryption keys."""
    if user is None and current_context().channel == Channel.CLI:
        return
    require_admin(user)
