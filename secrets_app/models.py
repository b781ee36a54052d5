"""The domain: secrets, their SSH tunnel data and their version history (API tokens: access/)."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

# ApiToken lives in access/models.py; imported here so Django registers it in this app (same
# table, no migration) and old imports keep working.
from secrets_app.access.models import ApiToken, ProfileGrant, ServiceToken  # noqa: F401
from secrets_app.constants import (
    DEFAULT_PROFILE,
    KEY_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PROFILE_MAX_LENGTH,
    SecretCategory,
    ValueFormat,
)
from secrets_app.fields import EncryptedField
from secrets_app.validation import skeleton_digest, validate_key, validate_name

# What an UPDATE's audit row names as "changed": the fields a person edits, and the value.
TRACKED_FIELDS = ("name", "key", "value", "category", "profile", "description")


class SecretQuerySet(models.QuerySet):
    """Bulk writes skip save(): they fill the name's skeleton here, so no path can store a
    row without it (R17.11)."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for secret in objs:
            secret.name_skeleton = skeleton_digest(secret.name)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        if "name" in fields:
            for secret in objs:
                secret.name_skeleton = skeleton_digest(secret.name)
            fields = [*fields, "name_skeleton"]
        return super().bulk_update(objs, fields, *args, **kwargs)


class Secret(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=NAME_MAX_LENGTH, validators=[validate_name])
    # SHA-256 of the name's UTS 39 confusable skeleton, filled on every save: names that look
    # the same share it, and the constraint below allows one per profile.
    name_skeleton = models.CharField(max_length=64, editable=False, default="")
    key = models.CharField(max_length=KEY_MAX_LENGTH, validators=[validate_key])
    value = EncryptedField()
    category = models.CharField(
        max_length=16, choices=SecretCategory.choices, default=SecretCategory.CUSTOM
    )
    # No fixed choices: the profiles are configured (SECRETS_PROFILES, R22), and a secret
    # stays stored, listed and exported when its profile leaves the setting.
    profile = models.CharField(max_length=PROFILE_MAX_LENGTH, default=DEFAULT_PROFILE)
    description = models.TextField(blank=True, default="", max_length=2000)
    # Set by the import only: how the value was written in the file, so the YAML export
    # gives a mapping back as a mapping (R22). Not a secret; never shown or edited.
    value_format = models.CharField(
        max_length=8, choices=ValueFormat.choices, default=ValueFormat.TEXT, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False,
    )

    objects = SecretQuerySet.as_manager()

    class Meta:
        # The list's default order; (name, profile) is unique, so pages are stable.
        ordering = ["name", "profile"]
        constraints = [
            # R3.1: enforced by the database, so concurrent creates cannot both win. Its index
            # also serves the unfiltered list (ORDER BY name, profile) and name lookups.
            models.UniqueConstraint(
                fields=["name", "profile"],
                name="secret_unique_name_per_profile",
                violation_error_message="Secret with this name already exists",
            ),
            # R17.11: look-alike names (API_KEY, API_KEY with a Cyrillic A) are one name.
            models.UniqueConstraint(
                fields=["name_skeleton", "profile"],
                name="secret_unique_skeleton_per_profile",
                violation_error_message="Secret with this name already exists",
            ),
        ]
        indexes = [
            # List filtered by category: WHERE category = ? ORDER BY name, profile.
            models.Index(fields=["category", "name", "profile"], name="secret_category_list"),
            # List filtered by profile: WHERE profile = ? ORDER BY name; and profile counts.
            models.Index(fields=["profile", "name"], name="secret_profile_list"),
            # The resolver and the catalog: WHERE key = ? AND profile = ?.
            models.Index(fields=["key", "profile"], name="secret_key_profile"),
            # "Newest first" ordering of the list.
            models.Index(fields=["-created_at"], name="secret_newest_first"),
        ]
        permissions = [("decrypt_secret", "Can decrypt secret values")]

    def __str__(self) -> str:
        return f"{self.name} ({self.profile})"

    def save(self, *args, **kwargs):
        self.name_skeleton = skeleton_digest(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_skeleton"}
        super().save(*args, **kwargs)  # the post-save signal reads changed_fields()
        self._track()

    @classmethod
    def from_db(cls, db, field_names, values):
        secret = super().from_db(db, field_names, values)
        secret._track()
        return secret

    def _track(self) -> None:
        """Remember the tracked fields as stored (those loaded: a deferred one stays so)."""
        loaded = self.__dict__
        self._stored = {name: loaded[name] for name in TRACKED_FIELDS if name in loaded}

    def changed_fields(self) -> list[str]:
        """The tracked fields set to something else since loaded or last saved, sorted. A
        value assigned as text counts as changed even when it is the same plaintext: stored
        values are Sealed, so only a restore's Sealed token can equal one (R17.2)."""
        stored = getattr(self, "_stored", {})
        return sorted(name for name, was in stored.items() if self.__dict__.get(name) != was)


class SSHTunnel(models.Model):
    """Tunnel settings of an SSH secret (R7): password and private key each encrypted."""

    secret = models.OneToOneField(
        Secret, primary_key=True, on_delete=models.CASCADE, related_name="ssh_tunnel"
    )
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(
        default=22, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    username = models.CharField(max_length=255)
    password = EncryptedField(null=True, blank=True)
    private_key = EncryptedField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"


class SecretVersion(models.Model):
    """Every value a secret has held (R13): number 1 is the first, the highest is current."""

    secret = models.ForeignKey(Secret, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    value = EncryptedField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    # The profile the secret was in when this value was set: moving a secret does not hand
    # its earlier values to the new profile's readers (R18). Empty on versions from before
    # grants existed: where they were set is not known, so only admins restore them.
    profile = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["secret", "-number"]
        constraints = [
            # Its index also serves "versions of this secret, newest first".
            models.UniqueConstraint(fields=["secret", "number"], name="version_unique_number"),
        ]

    def __str__(self) -> str:
        return f"version {self.number}"


class KeyCheck(models.Model):
    """One row holding a known text encrypted under the installation's key (R17.21), written
    by the migration that creates the table and re-encrypted by rotate_encryption_key. At
    start-up it tells at once whether the configured keys open what is stored."""

    value = EncryptedField()

    def __str__(self) -> str:
        return "encryption key check"
