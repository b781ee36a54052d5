"""The Django admin site (settings.INSTALLED_APPS names KozmoAdminConfig in place of
django.contrib.admin): its sign-in and its password change check passwords under the
sign-in throttle (access/signin.py). Django 5.2's AdminSite has a login_form hook but none
for the password change form, hence the password_change override."""

from django.contrib.admin import AdminSite

from secrets_app.access.forms import AdminSignInForm, ThrottledPasswordChangeForm


class KozmoAdminSite(AdminSite):
    login_form = AdminSignInForm

    def password_change(self, request, extra_context=None):
        # AdminSite.password_change, with the throttled form (the rest is Django's own view).
        from django.contrib.auth.views import PasswordChangeView
        from django.urls import reverse

        defaults = {
            "form_class": ThrottledPasswordChangeForm,
            "success_url": reverse("admin:password_change_done", current_app=self.name),
            "extra_context": {**self.each_context(request), **(extra_context or {})},
        }
        if self.password_change_template is not None:
            defaults["template_name"] = self.password_change_template
        request.current_app = self.name
        return PasswordChangeView.as_view(**defaults)(request)
