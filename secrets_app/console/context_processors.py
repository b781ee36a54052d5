from django.conf import settings

from secrets_app.access.permissions import is_secrets_admin


def console(request):
    """Template flags and numbers for the console; templates ask this, never the permissions
    or the settings directly."""
    return {
        "is_secrets_admin": is_secrets_admin(getattr(request, "user", None)),
        "reveal_seconds": settings.SECRETS_REVEAL_SECONDS,
    }
