"""Console forms. They only shape and check input; services.py decides and writes."""

from django import forms
from django.conf import settings

from secrets_app.access.models import Role
from secrets_app.access.service_tokens import DEFAULT_LIFETIME_DAYS
from secrets_app.constants import (
    DEFAULT_PROFILE,
    KEY_MAX_LENGTH,
    NAME_MAX_LENGTH,
    SecretCategory,
    ValueFormat,
    profile_choices,
    profiles,
)
from secrets_app.formats.entries import size_text
from secrets_app.services.secrets import SSHTunnelData

CATEGORY_CHOICES = [("", "From the key (automatic)"), *SecretCategory.choices]


# A form's answer to a profile outside the menu: the setting that would admit it (R22).
UNKNOWN_PROFILE_CHOICE = ("Unknown profile %(value)s: add it to SECRETS_PROFILES, or choose one "
                          "from the list.")


# A secret's input: never offered to the browser's autofill, spell checker or autocorrect,
# and marked for password managers as not a sign-in field (1Password, LastPass, Bitwarden,
# Dashlane read these), so that they do not offer to save a secret value as a password.
PASSWORD_MANAGER_IGNORE = {"data-1p-ignore": "true", "data-lpignore": "true",
                           "data-bwignore": "true", "data-form-type": "other"}
SECRET_INPUT_ATTRS = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off",
                      "class": "secret-input", **PASSWORD_MANAGER_IGNORE}
# Keys whose values span lines: PEM keys and certificates, service-account JSON.
MULTILINE_KEY_ENDINGS = ("PRIVATE_KEY", "PKEY", "_PEM", "_CERT", "_JSON", "SERVICE_ACCOUNT_KEY")


def takes_multiline(key: str, value_format: str = ValueFormat.TEXT) -> bool:
    """Whether an edit dialog opens with the multi-line value field (the user can switch)."""
    return value_format == ValueFormat.JSON or str(key).endswith(MULTILINE_KEY_ENDINGS)


def secret_widget(multiline: bool) -> forms.Widget:
    """A masked value field: a password input; multi-line, a textarea hidden until shown.
    render_value: a form sent back with a mistake keeps the typed value, as a textarea did."""
    if multiline:
        return forms.Textarea(attrs={**SECRET_INPUT_ATTRS, "rows": 4, "hidden": True})
    return forms.PasswordInput(render_value=True, attrs=SECRET_INPUT_ATTRS)


class SecretForm(forms.Form):
    """Create and edit (R3.4, R7.4). On edit an empty value keeps the stored one.

    Whether a value is required, its size, the key's shape and the name's rules are the
    service's to decide (validation.py): the view shows its errors next to these fields.
    maxlength only helps the browser; the service enforces the limits."""

    name = forms.CharField(widget=forms.TextInput(attrs={"maxlength": NAME_MAX_LENGTH}))
    key = forms.CharField(
        strip=False,  # taken as typed: the service refuses spaces rather than hiding them
        help_text="A known key (suggested as you type) or any UPPER_SNAKE name.",
        widget=forms.TextInput(attrs={"list": "config-keys", "autocomplete": "off",
                                      "spellcheck": "false", "maxlength": KEY_MAX_LENGTH}),
    )
    # Masked (R21): a password input, or for a multi-line value a textarea that starts hidden
    # behind "•••"; the Show toggle (app.js) reveals either. __init__ picks the widget.
    value = forms.CharField(required=False, strip=False)
    multiline = forms.BooleanField(
        required=False, label="Multi-line value (a private key, JSON)")
    category = forms.ChoiceField(choices=CATEGORY_CHOICES, required=False)
    profile = forms.ChoiceField(choices=profile_choices, initial=DEFAULT_PROFILE,
                                error_messages={"invalid_choice": UNKNOWN_PROFILE_CHOICE})
    description = forms.CharField(required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    ssh_host = forms.CharField(required=False, max_length=255, label="Host")
    ssh_port = forms.IntegerField(required=False, min_value=1, max_value=65535, initial=22,
                                  label="Port")
    ssh_username = forms.CharField(required=False, max_length=255, label="Username")
    ssh_password = forms.CharField(
        required=False, strip=False, label="Password",
        widget=forms.PasswordInput(render_value=True, attrs=SECRET_INPUT_ATTRS),
    )
    ssh_private_key = forms.CharField(
        required=False, strip=False, label="Private key",
        widget=forms.Textarea(attrs={**SECRET_INPUT_ATTRS, "rows": 4, "hidden": True}),
    )

    def __init__(self, *args, editing: bool = False, writable=None, current_profile=None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        multiline = self["multiline"].value()
        if self.is_bound:
            # Line breaks typed before the switch was unticked stay visible and editable.
            multiline = multiline or "\n" in (self.data.get("value") or "")
        self.fields["value"].widget = secret_widget(bool(multiline))
        if current_profile and current_profile not in profiles():
            # A secret whose profile left SECRETS_PROFILES may stay there when edited (R22).
            self.fields["profile"].choices = [*profile_choices(),
                                              (current_profile, current_profile)]
        if writable is not None:
            # Offer only the profiles the user may write (R18). The field still accepts every
            # profile: a forged one reaches the service, which refuses it (403, audited).
            self.fields["profile"].widget.choices = [
                (value, label) for value, label in self.fields["profile"].choices
                if value in writable or value == current_profile]
            if self.fields["profile"].initial not in writable and writable:
                self.fields["profile"].initial = writable[0]
        if editing:
            self.fields["value"].help_text = "Leave empty to keep the stored value."
            self.fields["ssh_password"].help_text = "Leave empty to keep the stored one."
            self.fields["ssh_private_key"].help_text = "Leave empty to keep the stored one."

    def clean(self):
        data = super().clean()
        tunnel = data.get("category") == "SSH" and data.get("ssh_host")
        if tunnel and not data.get("ssh_username"):
            self.add_error("ssh_username", "An SSH tunnel needs a username.")
        return data

    def service_fields(self) -> dict:
        """Keyword arguments for create_secret / update_secret."""
        data = self.cleaned_data
        fields = {
            # None is "From the key (automatic)": the service infers it, on create and edit.
            "name": data["name"], "key": data["key"], "category": data["category"] or None,
            "profile": data["profile"], "description": data["description"],
        }
        if data["value"] or not self.editing:
            fields["value"] = data["value"]
        if data["category"] == "SSH" and data["ssh_host"]:
            fields["ssh"] = SSHTunnelData(
                host=data["ssh_host"], port=data["ssh_port"] or 22,
                username=data["ssh_username"],
                password=data["ssh_password"] or None,
                private_key=data["ssh_private_key"] or None,
            )
        return fields

    @classmethod
    def for_secret(cls, secret, writable=None) -> "SecretForm":
        tunnel = getattr(secret, "ssh_tunnel", None)
        initial = {
            "name": secret.name, "key": secret.key, "category": secret.category,
            "profile": secret.profile, "description": secret.description,
            "multiline": takes_multiline(secret.key, secret.value_format),
        }
        if tunnel is not None:
            initial.update(ssh_host=tunnel.host, ssh_port=tunnel.port,
                           ssh_username=tunnel.username)
        return cls(initial=initial, editing=True, writable=writable,
                   current_profile=secret.profile)


class ImportForm(forms.Form):
    file = forms.FileField()
    profile = forms.ChoiceField(
        choices=lambda: [("", "Every profile in the file"), *profile_choices()], required=False,
        error_messages={"invalid_choice": UNKNOWN_PROFILE_CHOICE},
        help_text="Only this profile; a flat or .env file goes here (default: default).",
    )
    templates = forms.ChoiceField(
        label="Templates the server cannot resolve",
        choices=[("fail", "Fail the entry"), ("skip", "Skip the entry"),
                 ("keep", "Keep the text as written")],
        initial="fail", required=False,
        help_text="Such as {{ mage_secret_var('x') }}; an upload never reads the server's "
                  "environment, so every {{ env_var('X') }} too.",
    )
    dry_run = forms.BooleanField(required=False, label="Dry run: show what would change")

    def __init__(self, *args, writable=None, **kwargs):
        super().__init__(*args, **kwargs)
        if writable is not None:  # as SecretForm: offered, not enforced (the service does)
            self.fields["profile"].widget.choices = [
                (value, label) for value, label in self.fields["profile"].choices
                if not value or value in writable]
        # Read per form, not at import: the limit is a setting (SECRETS_IMPORT_MAX_BYTES).
        self.fields["file"].help_text = (
            "An io_config.yaml (profiles of KEY: value) or a .env file, at most "
            f"{size_text(settings.SECRETS_IMPORT_MAX_BYTES)}.")


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “airflow prod”.")
    expires_in_days = forms.TypedChoiceField(
        coerce=int, empty_value=None, initial=90, label="Expires",
        choices=[(30, "in 30 days"), (90, "in 90 days"), (365, "in a year"), ("", "never")],
        required=False,
    )


def split_list(text: str) -> list[str]:
    """Comma- or line-separated entries, trimmed, the empty ones dropped."""
    return [part.strip() for line in text.splitlines() for part in line.split(",")
            if part.strip()]


class GrantForm(forms.Form):
    """Settings → Access (R18): a role on one profile for a user or a group. Who exists and
    what is allowed is for access/grants.py to say; its errors land on these fields."""

    user = forms.CharField(
        required=False, max_length=150, label="User",
        help_text="A username, or leave empty and name a group.",
        widget=forms.TextInput(attrs={"list": "grant-users", "autocomplete": "off"}),
    )
    group = forms.CharField(
        required=False, max_length=150, label="Group",
        help_text="A group's name: every member gets the role.",
        widget=forms.TextInput(attrs={"list": "grant-groups", "autocomplete": "off"}),
    )
    profile = forms.ChoiceField(choices=profile_choices)
    role = forms.ChoiceField(
        choices=Role.choices, initial=Role.READER,
        help_text="reader: decrypt and fetch; editor: also create, change, delete, import "
                  "and restore.",
    )


class ServiceTokenForm(forms.Form):
    """Settings → Service tokens (R19). Shapes the input; access/service_tokens.py checks it
    (name, profiles, patterns, networks, lifetime), every field at once as the API does, and
    its errors land on these fields."""

    name = forms.CharField(required=False, help_text="The program using it, e.g. “etl”.",
                           widget=forms.TextInput(attrs={"maxlength": 100, "required": True}))
    profiles = forms.MultipleChoiceField(
        required=False, choices=profile_choices, widget=forms.CheckboxSelectMultiple,
        label="Profiles it may read",
    )
    keys = forms.CharField(
        required=False, label="Key patterns",
        help_text="Comma- or line-separated, e.g. POSTGRES_*, AWS_?_KEY. Empty: every key.",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off"}),
    )
    allowed_networks = forms.CharField(
        required=False, label="Client networks",
        help_text="Comma- or line-separated addresses or CIDRs, e.g. 10.0.0.0/8. "
                  "Empty: from anywhere.",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off"}),
    )
    expires_in_days = forms.TypedChoiceField(
        coerce=int, empty_value=None, initial=DEFAULT_LIFETIME_DAYS, label="Expires",
        choices=[(7, "in 7 days"), (30, "in 30 days"), (90, "in 90 days"),
                 (180, "in 180 days"), (365, "in a year"), ("", "never")],
        required=False,
    )

    def service_fields(self) -> dict:
        """Keyword arguments for create_service_token."""
        data = self.cleaned_data
        return {
            "name": data["name"], "profiles": data["profiles"],
            "keys": split_list(data["keys"]),
            "allowed_networks": split_list(data["allowed_networks"]),
            "expires_in_days": data["expires_in_days"],
        }
