"""Your password again (R21.1), in the console: the dialog before a reveal, restore or delete
(views._reauth_gate), and the "Your password" field in the form of a change that matters in
a protected profile (create, edit, import, tokens, grants). Which profiles are protected and
when a session is stale is access/reauth.py's to say; this module only asks and checks.

A change's form asks in the same form, not in a second dialog: the typed values come back
as on any form error, and nothing is replayed. The password is checked under the sign-in
throttle (reauth.confirm_password): a wrong one is audited and counted, past the limit the
answer is 429 with the throttle's message."""

from django import forms
from django.conf import settings
from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.debug import sensitive_variables

from secrets_app.access.reauth import confirm_password, protected_profiles
from secrets_app.access.signin import LoginThrottled
from secrets_app.shared_cache import CacheUnavailable

FIELD = "password"
REAUTH_REFUSED = "That password is not right."  # the same for every wrong one
PASSWORD_MISSING = "Enter your password to go on."  # noqa: S105 - a message


def throttled(error: LoginThrottled) -> HttpResponse:
    """Past the sign-in limit: 429 with its message (app.js shows X-Error-Message)."""
    response = HttpResponse(error.messages[0], status=429,
                            headers={"Retry-After": str(error.retry_after),
                                     "X-Error-Message": error.messages[0]})
    patch_cache_control(response, no_store=True)
    return response


def _duration(seconds: int) -> str:
    if seconds % 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def help_text() -> str:
    """Read per form: the settings say which profiles and how long."""
    where = ", ".join(protected_profiles()) or "retired profiles"
    seconds = settings.SECRETS_REAUTH_SECONDS
    if seconds == 0:
        return f"Changes in {where} ask for your password every time."
    return (f"Changes in {where} ask for your password again when it was last entered over "
            f"{_duration(seconds)} ago.")


def ask_password(form: forms.Form, needed: bool) -> forms.Form:
    """Add "Your password" to `form` when the change needs it (a reauth.needs_reauth* answer).
    Never rendered back: a form sent back for any mistake comes with the field empty."""
    if needed:
        form.fields[FIELD] = forms.CharField(
            label="Your password", required=False, strip=False, help_text=help_text(),
            widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    return form


def asks_password(form: forms.Form) -> bool:
    return FIELD in form.fields


@sensitive_variables("password")
def check_password(request, form: forms.Form, action: str, secret=None) -> HttpResponse | None:
    """Check the password typed in a form that asks for it (ask_password). Missing or wrong,
    an error on the field (the form is no longer valid); right, the session is stamped and
    the field leaves the form (sent back for another mistake, it no longer asks). Past the
    sign-in limit: the 429 answer to return as it is. The other fields are validated first,
    and the password is checked even when they have errors: a right one is not wasted."""
    if not asks_password(form):
        return None
    form.is_valid()  # the other fields' checks, once; add_error below needs cleaned_data
    form.cleaned_data.pop(FIELD, None)  # the password goes no further than here
    password = form.data.get(FIELD) or ""
    if not password:
        form.add_error(FIELD, PASSWORD_MISSING)
        return None
    try:
        right = confirm_password(request, password, action, secret)
    except LoginThrottled as error:
        return throttled(error)
    except CacheUnavailable as error:
        form.add_error(FIELD, str(error))
        return None
    if not right:
        form.add_error(FIELD, REAUTH_REFUSED)
        return None
    del form.fields[FIELD]
    return None
