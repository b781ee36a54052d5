"""Django admin for API tokens (R14): see everyone's tokens and revoke a leaked one without a
shell. Read-only otherwise: tokens are made by the API, the console and create_api_token (the
only places their key can be shown once); nothing is deleted, so the audit trail stays.

Who may use it: Django's own model permissions, like the rest of /admin/. "Can view api
token" lists them, "Can change api token" revokes. Superusers hold both; the `Secrets
administrators` group holds neither (in the API and the console everyone, admins too, sees
and revokes only their own tokens)."""

from django.contrib import admin, messages
from django.utils.translation import ngettext

from kozmo_secrets.read_only_admin import ReadOnlyModelAdmin
from secrets_app.access.models import ApiToken
from secrets_app.access.tokens import revoke_token

# The digest is never shown: it is what authentication looks keys up by.
SHOWN_FIELDS = (
    "user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at",
)


class RevokedFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(revoked_at__isnull=self.value() == "no")
        return queryset


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyModelAdmin):
    list_display = SHOWN_FIELDS
    list_filter = (RevokedFilter, ("user", admin.RelatedOnlyFieldListFilter))
    search_fields = ("user__username", "name", "prefix")
    list_select_related = ("user",)
    fields = SHOWN_FIELDS
    readonly_fields = SHOWN_FIELDS
    actions = ["revoke_selected"]

    def lookup_allowed(self, lookup, value, request=None):
        # Django lets a URL filter on any field (?digest__startswith=): never on the digest.
        if lookup.split("__")[0] == "digest":
            return False
        return super().lookup_allowed(lookup, value, request)

    def has_revoke_permission(self, request):
        return request.user.has_perm("secrets_app.change_apitoken")

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        # The same service as the API's DELETE /tokens/{id}/: one TOKEN_REVOKE row each
        # (channel `admin`, naming the owner); already revoked tokens are left alone.
        live = [token for token in queryset.select_related("user") if token.revoked_at is None]
        for token in live:
            revoke_token(token, request.user)
        if live:
            self.message_user(request, ngettext(
                "Revoked %d token.", "Revoked %d tokens.", len(live)) % len(live))
        else:
            self.message_user(request, "The selected tokens were already revoked.",
                              messages.INFO)
