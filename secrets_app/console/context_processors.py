from secrets_app.access.permissions import is_secrets_admin


def console(request):
    """Template flags for the console; templates ask this, never the permissions directly."""
    return {"is_secrets_admin": is_secrets_admin(getattr(request, "user", None))}
