from django.contrib.admin.apps import AdminConfig


class KozmoAdminConfig(AdminConfig):
    """django.contrib.admin with the project's admin site (secrets_app/admin_site.py), whose
    sign-in and password change are under the sign-in throttle."""

    default_site = "secrets_app.admin_site.KozmoAdminSite"
