"""The Django admin site (settings.INSTALLED_APPS names KozmoAdminConfig in place of
django.contrib.admin): its sign-in and its password change check passwords under the
sign-in throttle (access/signin.py). Django 5.2's AdminSite has a login_form hook but none
for the password change form, hence the password_change override.

Re-authentication (R21.1): the admin can do what the console asks a password for (set any
user's password without the old one, then "re-enter" it; grant, change or delete secrets),
so a change here (any unsafe request) from a stale session is not carried out: it goes to
the admin's sign-in page, which asks for the password and then returns (`next`). Reading
pages stays."""

from functools import wraps

from django.contrib.admin import AdminSite
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse

from secrets_app.access.forms import AdminSignInForm, ThrottledPasswordChangeForm
from secrets_app.access.reauth import NO_ASKING_GRACE_SECONDS, session_is_stale

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SIGN_IN_AGAIN = ("Your password was entered a while ago: enter it again to make changes "
                 "here.")


class KozmoAdminSite(AdminSite):
    login_form = AdminSignInForm
    login_template = "admin/kozmo_login.html"

    def admin_view(self, view, cacheable=False):
        @wraps(view)
        def fresh(request, *args, **kwargs):
            signing_out = request.path == reverse("admin:logout", current_app=self.name)
            if (request.method not in SAFE_METHODS and not signing_out
                    and session_is_stale(request, at_least=NO_ASKING_GRACE_SECONDS)):
                # Not carried out: the sign-in page, then back here (as a GET: nothing
                # typed is replayed).
                return redirect_to_login(request.get_full_path(),
                                         reverse("admin:login", current_app=self.name))
            return view(request, *args, **kwargs)

        # AdminSite's wrapper checks the permission (and CSRF) before `fresh` runs.
        return super().admin_view(fresh, cacheable)

    def login(self, request, extra_context=None):
        if request.user.is_authenticated and session_is_stale(
                request, at_least=NO_ASKING_GRACE_SECONDS):
            # Show the form to a signed-in user (AdminSite sends them to the index), with
            # why, in place of Django's "you are not authorized" note (it keys on `user`).
            request.kozmo_sign_in_again = True
            extra_context = {"reauth_note": SIGN_IN_AGAIN, "user": AnonymousUser(),
                             **(extra_context or {})}
        return super().login(request, extra_context)

    def has_permission(self, request):
        if getattr(request, "kozmo_sign_in_again", False):
            return False
        return super().has_permission(request)

    def password_change(self, request, extra_context=None):
        # AdminSite.password_change, with the throttled form (the rest is Django's own view).
        from django.contrib.auth.views import PasswordChangeView

        defaults = {
            "form_class": ThrottledPasswordChangeForm,
            "success_url": reverse("admin:password_change_done", current_app=self.name),
            "extra_context": {**self.each_context(request), **(extra_context or {})},
        }
        if self.password_change_template is not None:
            defaults["template_name"] = self.password_change_template
        request.current_app = self.name
        return PasswordChangeView.as_view(**defaults)(request)
