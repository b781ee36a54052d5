"""Django admin: the audit log, read-only (rows are append-only anyway)."""

from django.contrib import admin

from audit_app.models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = (
        "sequence", "timestamp", "username", "action", "secret_name", "secret_profile",
        "channel", "ip_address", "allowed",
    )
    list_filter = ("action", "channel", "allowed")
    search_fields = ("username", "secret_name")
    date_hierarchy = "timestamp"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
