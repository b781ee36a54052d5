"""The audit log (R10.2, R12): append-only rows, each chained to the one before by a hash.

Rows store plain copies of who and what (user id and name, secret id, name and profile) rather
than foreign keys: they must outlive deleted users and secrets, and must never be updated.
"""

from django.db import models
from django.utils import timezone

# The hash before the first row: the chain head starts here, and verification expects the
# first row's prev_hash to be it. (Migrations keep their own frozen copy.)
GENESIS_HASH = "0" * 64


class AuditAction(models.TextChoices):
    CREATE = "CREATE", "Create"
    UPDATE = "UPDATE", "Update"
    DELETE = "DELETE", "Delete"
    DECRYPT = "DECRYPT", "Decrypt"
    RESTORE = "RESTORE", "Restore version"
    IMPORT = "IMPORT", "Import"
    ROTATE = "ROTATE", "Rotate key"
    EXPORT = "EXPORT", "Export"
    TOKEN_CREATE = "TOKEN_CREATE", "API token created"
    TOKEN_REVOKE = "TOKEN_REVOKE", "API token revoked"
    LOGIN_FAILED = "LOGIN_FAILED", "Failed sign-in"
    # R18, R19
    GRANT_ADD = "GRANT_ADD", "Grant added"
    GRANT_REMOVE = "GRANT_REMOVE", "Grant removed"
    SERVICE_TOKEN_CREATE = "SERVICE_TOKEN_CREATE", "Service token created"
    SERVICE_TOKEN_REVOKE = "SERVICE_TOKEN_REVOKE", "Service token revoked"
    # A refused request that changed nothing (a write, a grant, a token outside its scope);
    # refused decrypts stay DECRYPT rows with allowed=False (R2.5).
    DENIED = "DENIED", "Access denied"


class Channel(models.TextChoices):
    API = "api", "API"
    CONSOLE = "console", "Console"
    ADMIN = "admin", "Django admin"
    CLI = "cli", "Command line"
    SYSTEM = "system", "System"


class AppendOnlyError(Exception):
    """Audit rows cannot be changed or deleted through the application."""


class AuditLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The audit log is append-only: rows cannot be updated.")

    def delete(self):
        raise AppendOnlyError("The audit log is append-only: rows cannot be deleted.")


class AppendOnly(models.Model):
    """Rows are added, never changed or deleted through the application."""

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("The audit log is append-only: rows cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The audit log is append-only: rows cannot be deleted.")


class AuditLog(AppendOnly):
    # Position in the hash chain; its unique index also serves "newest first" listing.
    sequence = models.PositiveBigIntegerField(unique=True, editable=False)
    timestamp = models.DateTimeField(default=timezone.now, editable=False)
    user_id = models.IntegerField(null=True, blank=True, editable=False)
    username = models.CharField(max_length=150, blank=True, editable=False)
    action = models.CharField(max_length=32, choices=AuditAction.choices, editable=False)
    secret_id = models.UUIDField(null=True, blank=True, editable=False)
    secret_name = models.CharField(max_length=255, blank=True, editable=False)
    secret_profile = models.CharField(max_length=32, blank=True, editable=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True, editable=False)
    user_agent = models.CharField(max_length=255, blank=True, editable=False)
    channel = models.CharField(max_length=16, choices=Channel.choices, editable=False)
    allowed = models.BooleanField(default=True, editable=False)
    # Counts, changed field names, reasons: never a value.
    detail = models.JSONField(default=dict, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, editable=False)


    class Meta:
        ordering = ["-sequence"]
        indexes = [
            # Audit filters, each newest first: WHERE action = ? / secret_id = ? / user_id = ?
            # ORDER BY sequence DESC.
            models.Index(fields=["action", "-sequence"], name="audit_action_newest"),
            models.Index(fields=["secret_id", "-sequence"], name="audit_secret_newest"),
            models.Index(fields=["user_id", "-sequence"], name="audit_user_newest"),
            # Time-range filter: WHERE timestamp BETWEEN ? AND ?.
            models.Index(fields=["timestamp"], name="audit_timestamp"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.secret_name} by {self.username or '-'}"


class AuditSecretRead(AppendOnly):
    """A secret one row read besides its own `secret_id`: a credentials request (R20) is one
    row naming many keys, and this index lets the filter by secret find it ("who read
    secret X"). It indexes the row's own `detail.secret_ids`, which the hash chain covers;
    written with the row, never changed, and checked by verify_chain (a removed or added
    index row breaks the check)."""

    row = models.ForeignKey(AuditLog, on_delete=models.PROTECT, related_name="secrets_read",
                            editable=False)
    secret_id = models.UUIDField(editable=False, db_index=True)


    class Meta:
        constraints = [models.UniqueConstraint(fields=["row", "secret_id"],
                                               name="audit_secret_read_once")]

    def __str__(self) -> str:
        return f"#{self.row_id} read {self.secret_id}"


class AuditChainHead(models.Model):
    """The one row holding the chain's tail. Writers lock it, so the chain has no forks, and
    verification compares it with the last row to catch a truncated log."""

    last_sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit chain head at #{self.last_sequence}"
