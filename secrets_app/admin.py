"""Django admin: a read-only window on secrets (values masked). Changes go through the
console and the API, which keep versions and enforce the admin rule. API tokens (list and
revoke): access/admin.py."""

from django.contrib import admin

from secrets_app.access import admin as token_admin  # noqa: F401 - registers ApiTokenAdmin
from secrets_app.constants import MASK
from secrets_app.models import Secret, SecretVersion

# admin.site is secrets_app.admin_site.KozmoAdminSite: its sign-in and password change are
# under the sign-in throttle.


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SecretVersionInline(admin.TabularInline):
    model = SecretVersion
    fields = ("number", "masked_value", "created_at", "created_by", "restored_from")
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="value")
    def masked_value(self, obj):
        return MASK

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Secret)
class SecretAdmin(ReadOnlyAdmin):
    list_display = ("name", "key", "category", "profile", "masked_value", "updated_at")
    list_filter = ("category", "profile")
    search_fields = ("name", "key")
    fields = (
        "id", "name", "key", "masked_value", "category", "profile", "description",
        "created_at", "created_by", "updated_at", "updated_by",
    )
    readonly_fields = fields
    list_select_related = ()
    inlines = [SecretVersionInline]

    @admin.display(description="value")
    def masked_value(self, obj):
        return MASK
