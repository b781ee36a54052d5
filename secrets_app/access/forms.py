"""The sign-in forms: the console's and the admin's. The throttle itself is not here but in
the authentication backend (access/signin.py), which both forms reach through
authenticate(): its LoginThrottled is a ValidationError, so it shows as the form's error."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

from .signin import CONTROL_CHARACTERS_MESSAGE, has_control_characters


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
