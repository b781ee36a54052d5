"""A Django admin page that shows rows and never adds, edits or deletes them: the audit log
(append-only) and API tokens (made where their key can be shown once; revoked, not deleted)."""

from django.contrib import admin


class ReadOnlyModelAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
