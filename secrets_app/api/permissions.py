"""API permissions: each answers one question, by asking the one admin helper."""

from rest_framework.permissions import BasePermission

from secrets_app.access.permissions import ADMIN_REQUIRED, is_secrets_admin


class IsSecretsAdmin(BasePermission):
    message = ADMIN_REQUIRED

    def has_permission(self, request, view):
        return is_secrets_admin(request.user)
