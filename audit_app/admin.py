"""Django admin: the audit log, read-only (rows are append-only anyway)."""

from django.contrib import admin

from audit_app.models import AuditLog
from kozmo_secrets.read_only_admin import ReadOnlyModelAdmin


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyModelAdmin):
    list_display = (
        "sequence", "timestamp", "username", "action", "secret_name", "secret_profile",
        "channel", "ip_address", "allowed",
    )
    list_filter = ("action", "channel", "allowed")
    search_fields = ("username", "secret_name")
    date_hierarchy = "timestamp"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

