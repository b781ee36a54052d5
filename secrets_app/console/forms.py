"""Console forms. They only shape and check input; services.py decides and writes."""

from django import forms
from django.conf import settings

from secrets_app.constants import KEY_MAX_LENGTH, NAME_MAX_LENGTH, SecretCategory, SecretProfile
from secrets_app.formats.entries import size_text
from secrets_app.services.secrets import SSHTunnelData

CATEGORY_CHOICES = [("", "From the key (automatic)"), *SecretCategory.choices]


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
    value = forms.CharField(
        required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off", "spellcheck": "false",
                                     "class": "secret-input"}),
    )
    category = forms.ChoiceField(choices=CATEGORY_CHOICES, required=False)
    profile = forms.ChoiceField(choices=SecretProfile.choices, initial=SecretProfile.DEFAULT)
    description = forms.CharField(required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    ssh_host = forms.CharField(required=False, max_length=255, label="Host")
    ssh_port = forms.IntegerField(required=False, min_value=1, max_value=65535, initial=22,
                                  label="Port")
    ssh_username = forms.CharField(required=False, max_length=255, label="Username")
    ssh_password = forms.CharField(
        required=False, strip=False, label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    ssh_private_key = forms.CharField(
        required=False, strip=False, label="Private key",
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false",
                                     "class": "secret-input"}),
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
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
    def for_secret(cls, secret) -> "SecretForm":
        tunnel = getattr(secret, "ssh_tunnel", None)
        initial = {
            "name": secret.name, "key": secret.key, "category": secret.category,
            "profile": secret.profile, "description": secret.description,
        }
        if tunnel is not None:
            initial.update(ssh_host=tunnel.host, ssh_port=tunnel.port,
                           ssh_username=tunnel.username)
        return cls(initial=initial, editing=True)


class ImportForm(forms.Form):
    file = forms.FileField()
    profile = forms.ChoiceField(
        choices=[("", "Every profile in the file"), *SecretProfile.choices], required=False,
        help_text="Only this profile; a flat or .env file goes here (default: default).",
    )
    dry_run = forms.BooleanField(required=False, label="Dry run: show what would change")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
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
