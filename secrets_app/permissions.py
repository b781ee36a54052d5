"""Who is a secrets admin (R2, R3.6): the one helper every view, viewset and template asks."""

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
