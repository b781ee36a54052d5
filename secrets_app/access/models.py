"""The API token model (R14). It lives with the rest of access/ but stays in the app
`secrets_app` (same table, no migration): secrets_app/models.py imports it so Django finds it."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiTokenQuerySet(models.QuerySet):
    def of_user(self, user):
        """A user's tokens, newest first: the Settings page, GET /tokens (index
        token_user_newest)."""
        return self.filter(user=user).order_by("-created_at")


class ApiToken(models.Model):
    """An API token (R14). Only a SHA-256 digest of the key is stored: a leaked database does
    not hand out API access. The key itself is shown once, when it is created."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    # The key's first characters, shown in lists so people can tell their tokens apart.
    prefix = models.CharField(max_length=16)
    # Authentication looks tokens up by this unique index: WHERE digest = ?.
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        app_label = "secrets_app"
        ordering = ["-created_at"]
        indexes = [
            # "My tokens, newest first" on the Settings page and GET /tokens.
            models.Index(fields=["user", "-created_at"], name="token_user_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, at=None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)


class Role(models.TextChoices):
    """A role on one profile (R18). An editor holds every right a reader holds."""

    READER = "reader", "reader"
    EDITOR = "editor", "editor"


class ProfileGrantQuerySet(models.QuerySet):
    def of_user(self, user):
        """The grants that reach this user: their own and their groups'."""
        return self.filter(models.Q(user=user) | models.Q(group__in=user.groups.all()))


class ProfileGrant(models.Model):
    """A role on one profile, given to one user or one group (R18). One role per subject and
    profile: granting another replaces it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.CASCADE, related_name="profile_grants")
    group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="profile_grants")
    profile = models.CharField(max_length=32)
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    objects = ProfileGrantQuerySet.as_manager()

    class Meta:
        app_label = "secrets_app"
        ordering = ["profile", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False, group__isnull=True)
                           | models.Q(user__isnull=True, group__isnull=False)),
                name="grant_user_xor_group",
            ),
            models.UniqueConstraint(fields=["user", "profile"], name="grant_one_per_user",
                                    condition=models.Q(user__isnull=False)),
            models.UniqueConstraint(fields=["group", "profile"], name="grant_one_per_group",
                                    condition=models.Q(group__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.subject}: {self.role} on {self.profile}"

    @property
    def subject(self) -> str:
        """Who holds it, as people read it: `bob` or `group data-eng`."""
        if self.user_id:
            return self.user.get_username()
        return f"group {self.group.name}"


class ServiceToken(models.Model):
    """A token for a program, not a person (R19): it reads within its scope (profiles, key
    patterns, client networks) and does nothing else. Only the key's SHA-256 digest is
    stored; its prefix (`kzsvc_`) tells it apart from a person's token (`kzs_`)."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    profiles = models.JSONField(default=list)
    key_patterns = models.JSONField(default=list, blank=True)  # shell-style; empty: all keys
    allowed_networks = models.JSONField(default=list, blank=True)  # CIDRs; empty: anywhere
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="service_tokens")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "secrets_app"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, at=None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)
