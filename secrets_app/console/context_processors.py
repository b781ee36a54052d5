from django.conf import settings
from django.utils.functional import SimpleLazyObject

from secrets_app.access.policy import Access, access_of


def request_access(request) -> Access:
    """The caller's rights (access/policy.py), asked once per request: the views and the
    templates share the answer instead of each running the grants query again."""
    access = getattr(request, "_secrets_access", None)
    if access is None:
        access = access_of(getattr(request, "user", None))
        request._secrets_access = access
    return access


def console(request):
    """Template flags and numbers for the console; templates ask this, never the permissions
    or the settings directly. `access` answers per row with the console_access filters."""
    return {
        # Lazy: a page that never asks (the login page, the Django admin) costs no query.
        "access": SimpleLazyObject(lambda: request_access(request)),
        "reveal_seconds": settings.SECRETS_REVEAL_SECONDS,
    }
