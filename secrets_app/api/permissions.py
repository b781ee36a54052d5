"""API permissions: each answers one question, by asking the access rules in access/."""

from rest_framework.permissions import BasePermission

from secrets_app.access.permissions import ADMIN_REQUIRED, is_secrets_admin
from secrets_app.access.policy import access_of


class SignedIn(BasePermission):
    """Signed in. A service token (R19) only reaches the actions its view names in
    `service_actions`; everything else answers it 403, audited."""

    message = ADMIN_REQUIRED
    code = "not open to service tokens"  # the refusal's audit reason (api/exceptions.py)

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if getattr(request.user, "service_token", None) is None:
            return True
        return getattr(view, "action", None) in getattr(view, "service_actions", ())


class IsSecretsAdmin(BasePermission):
    message = ADMIN_REQUIRED
    code = "admins only"

    def has_permission(self, request, view):
        return is_secrets_admin(request.user)


class MayWriteSomewhere(BasePermission):
    """An admin, or an editor of at least one profile (R18): the service then checks the
    profile asked for."""

    message = ADMIN_REQUIRED
    code = "no editor grant"

    def has_permission(self, request, view):
        return access_of(request.user).writes_anywhere
