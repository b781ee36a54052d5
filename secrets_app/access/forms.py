"""The forms that check a password: the console's and the admin's sign-in, and the admin's
password change. The throttle itself is not here but in access/signin.py: the sign-in forms
reach it through authenticate() (the authentication backend), the password change through
check_password_throttled(). Its LoginThrottled is a ValidationError, so it shows as the
form's error."""

from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.views.decorators.debug import sensitive_variables

from secrets_app.access.signin import (
    CONTROL_CHARACTERS_MESSAGE,
    check_password_throttled,
    has_control_characters,
)


class SignInFormMixin:
    """A username with a NUL or another control character reaches the backend, which counts
    and audits it like any failed sign-in (a field validator would refuse it uncounted); the
    form then says what is wrong with it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators = [validator for validator in field.validators
                            if not isinstance(validator, ProhibitNullCharactersValidator)]

    def clean(self):
        try:
            return super().clean()
        except ValidationError as error:
            if (getattr(error, "code", None) == "invalid_login"
                    and has_control_characters(self.cleaned_data.get("username") or "")):
                raise ValidationError(CONTROL_CHARACTERS_MESSAGE,
                                      code="invalid_username") from None
            raise


class SignInForm(SignInFormMixin, AuthenticationForm):
    """/accounts/login/."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password do not match. Try again.",
    }


class AdminSignInForm(SignInFormMixin, AdminAuthenticationForm):
    """/admin/login/ (admin.site.login_form)."""


class ThrottledPasswordChangeForm(AdminPasswordChangeForm):
    """/admin/password_change/: the old password is a password guess like a sign-in (a stolen
    session must not guess it without limit), so it is checked under the sign-in throttle."""

    @sensitive_variables("old_password")
    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        if not check_password_throttled(self.user, old_password):
            raise ValidationError(self.error_messages["password_incorrect"],
                                  code="password_incorrect")
        return old_password
