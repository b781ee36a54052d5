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
