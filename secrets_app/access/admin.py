"""Django admin for API tokens (R14), per-profile grants (R18) and service tokens (R19).

API tokens: see everyone's tokens and revoke a leaked one without a shell. Read-only
otherwise: tokens are made by the API, the console and create_api_token (the only places
their key can be shown once); nothing is deleted, so the audit trail stays. Service tokens
alike. Grants are added and removed through the grants service (audited), never edited.

Who may use it: Django's own model permissions, like the rest of /admin/. "Can view api
token" lists them, "Can change api token" revokes. Superusers hold both; the `Secrets
administrators` group holds neither (in the API and the console everyone, admins too, sees
and revokes only their own tokens). Adding or removing a grant also needs secrets admin
rights: a grant gives rights to secrets."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from kozmo_secrets.read_only_admin import ReadOnlyModelAdmin
from secrets_app.access.grants import add_grant, find_subject, remove_grant
from secrets_app.access.models import ApiToken, ProfileGrant, ServiceToken
from secrets_app.access.permissions import is_secrets_admin
from secrets_app.access.service_tokens import revoke_service_token
from secrets_app.access.tokens import revoke_token
from secrets_app.constants import profile_choices

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


# --- per-profile grants (R18) -------------------------------------------------------------


class ProfileGrantForm(forms.ModelForm):
    """What the add page checks before save_model hands it to add_grant. The model's own
    constraints are add_grant's to keep: it replaces the role a subject holds where the
    UniqueConstraint would refuse it, and their errors would show raw constraint names."""

    profile = forms.ChoiceField(choices=profile_choices)

    class Meta:
        model = ProfileGrant
        fields = ("user", "group", "profile", "role")

    def clean(self):
        cleaned = super().clean()
        if self.has_error("user") or self.has_error("group"):
            return cleaned
        user, group = cleaned.get("user"), cleaned.get("group")
        try:
            # The same rule and words as the console, the API and the command.
            find_subject(user=user.get_username() if user else None,
                         group=group.name if group else None)
        except ValidationError as error:
            self.add_error(None, error)  # its fields' own errors (user or group)
        return cleaned

    def _get_validation_exclusions(self):
        # No model validation on top of the form fields' (which check every value): its
        # constraint checks would refuse what add_grant does (replacing a role).
        return {field.name for field in self.instance._meta.fields}


@admin.register(ProfileGrant)
class ProfileGrantAdmin(admin.ModelAdmin):
    """Grants are added and removed through access/grants.py (audited, channel `admin`);
    never edited in place. Needs the model permission and secrets admin rights."""

    form = ProfileGrantForm
    list_display = ("profile", "role", "subject", "created_by", "created_at")
    list_filter = ("profile", "role")
    search_fields = ("user__username", "group__name")
    list_select_related = ("user", "group", "created_by")
    readonly_fields = ("created_by", "created_at")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("user", "group", "profile", "role")
        return ("user", "group", "profile", "role", "created_by", "created_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return self.get_fields(request, obj)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and is_secrets_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return False  # another role is a new grant (it replaces the old one, audited)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and is_secrets_admin(request.user)

    def save_model(self, request, obj, form, change):
        subject = obj.user or obj.group
        held = ProfileGrant.objects.filter(
            profile=obj.profile, **({"user": subject} if obj.user else {"group": subject})
        ).values_list("role", flat=True).first()
        grant, changed = add_grant(request.user, subject, obj.profile, obj.role)
        obj.pk, obj.created_at, obj.created_by = grant.pk, grant.created_at, grant.created_by
        if not changed:
            self.message_user(request, f"{grant} already existed: nothing changed.",
                              messages.INFO)
        elif held is not None:
            self.message_user(request, f"It replaces the {held} role {grant.subject} held on "
                                       f"{grant.profile}.", messages.INFO)

    def delete_model(self, request, obj):
        remove_grant(request.user, obj)

    def delete_queryset(self, request, queryset):
        for grant in queryset.select_related("user", "group"):
            remove_grant(request.user, grant)


# --- service tokens (R19) -----------------------------------------------------------------

# The JSON lists are shown as text ("production, staging"), not as JSON.
SERVICE_TOKEN_FIELDS = (
    "name", "prefix", "profiles_shown", "key_patterns_shown", "allowed_networks_shown",
    "created_by", "created_at", "expires_at", "last_used_at", "revoked_at",
)
NO_ADD_HERE = (
    "Service tokens are created where their key can be shown once: Settings → Service "
    "tokens, POST /api/v1/service-tokens/ or `manage.py create_service_token`. Here they "
    "are listed and revoked."
)


@admin.register(ServiceToken)
class ServiceTokenAdmin(ReadOnlyModelAdmin):
    """Read-only, digest never shown; "Can change service token" revokes (audited)."""

    list_display = SERVICE_TOKEN_FIELDS
    list_filter = (RevokedFilter,)
    search_fields = ("name", "prefix", "created_by__username")
    list_select_related = ("created_by",)
    fields = SERVICE_TOKEN_FIELDS
    readonly_fields = SERVICE_TOKEN_FIELDS
    actions = ["revoke_selected"]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"subtitle": NO_ADD_HERE, **(extra_context or {})})

    @admin.display(description="profiles")
    def profiles_shown(self, token):
        return ", ".join(token.profiles)

    @admin.display(description="key patterns")
    def key_patterns_shown(self, token):
        return ", ".join(token.key_patterns) or "every key"

    @admin.display(description="allowed networks")
    def allowed_networks_shown(self, token):
        return ", ".join(token.allowed_networks) or "anywhere"

    def lookup_allowed(self, lookup, value, request=None):
        if lookup.split("__")[0] == "digest":
            return False
        return super().lookup_allowed(lookup, value, request)

    def has_revoke_permission(self, request):
        return request.user.has_perm("secrets_app.change_servicetoken")

    @admin.action(description="Revoke selected service tokens", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        live = [token for token in queryset if token.revoked_at is None]
        for token in live:
            revoke_service_token(token, request.user)
        if live:
            self.message_user(request, ngettext(
                "Revoked %d service token.", "Revoked %d service tokens.", len(live))
                % len(live))
        else:
            self.message_user(request, "The selected service tokens were already revoked.",
                              messages.INFO)
