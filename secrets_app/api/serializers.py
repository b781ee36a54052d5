"""API shapes. Values go in as text and always come out as the fixed mask (R1.3); only the
decrypt answer carries plaintext."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from secrets_app.access.grants import find_subject
from secrets_app.access.models import ApiToken, Role, ServiceToken
from secrets_app.access.tokens import MAX_LIFETIME_DAYS
from secrets_app.constants import DEFAULT_PROFILE, MASK, SecretCategory, profile_choices, profiles
from secrets_app.models import SecretVersion
from secrets_app.services.bulk import ImportSummary
from secrets_app.services.secrets import SSHTunnelData, create_secret, update_secret


def _choice_error(choices) -> dict:
    """A refused choice names the ones there are (they are case-sensitive)."""
    return {"invalid_choice": f'"{{input}}" is not a valid choice: use one of '
                              f'{", ".join(choices.values)}.'}


class ProfileField(serializers.ChoiceField):
    """A configured profile (SECRETS_PROFILES, R22). Its choices are read each time they are
    asked for, not kept: serializers made once at import (the schema's response examples)
    follow the setting too. An update may keep a secret in a profile that left the setting."""

    def __init__(self, **kwargs):
        super().__init__(choices=(), **kwargs)

    def _configured(self):
        return dict(profile_choices())

    def _ignored(self, value):  # ChoiceField.__init__ sets them; they are read, not stored
        pass

    choices = property(_configured, _ignored)
    grouped_choices = property(_configured, _ignored)
    choice_strings_to_values = property(_configured, _ignored)

    @property
    def error_messages(self):
        return {**self._error_messages, "invalid_choice": (
            f'"{{input}}" is not a valid choice: add it to SECRETS_PROFILES, or use one of '
            f'{", ".join(profiles())}.')}

    @error_messages.setter
    def error_messages(self, messages):
        self._error_messages = messages

    def to_internal_value(self, data):
        instance = getattr(self.parent, "instance", None)
        if instance is not None and data == getattr(instance, "profile", None):
            return data
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "example": MASK,
                      "description": "Write: the value. Read: always ********."})
class MaskedValueField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, allow_blank=True, **kwargs)

    def to_representation(self, value):
        return MASK


class SSHTunnelSerializer(serializers.Serializer):
    host = serializers.CharField(max_length=255)
    port = serializers.IntegerField(min_value=1, max_value=65535, default=22)
    username = serializers.CharField(max_length=255)
    password = serializers.CharField(write_only=True, required=False, allow_null=True,
                                     allow_blank=True, trim_whitespace=False,
                                     help_text="Omit to keep the stored one.")
    private_key = serializers.CharField(write_only=True, required=False, allow_null=True,
                                        allow_blank=True, trim_whitespace=False,
                                        help_text="Omit to keep the stored one.")
    has_password = serializers.SerializerMethodField()
    has_private_key = serializers.SerializerMethodField()

    def get_has_password(self, tunnel) -> bool:
        return tunnel.password is not None

    def get_has_private_key(self, tunnel) -> bool:
        return tunnel.private_key is not None


class SecretSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    # Lengths, the key's shape and whether a value is required are the service's to decide
    # (validation.py); its ValidationError answers 400 on the field at fault.
    name = serializers.CharField()
    key = serializers.CharField(trim_whitespace=False,
                                help_text="An UPPER_SNAKE name, e.g. POSTGRES_PASSWORD.")
    value = MaskedValueField(
        required=False,
        help_text="Required on create. On update, omit it, send \"\" or send back "
                  "\"********\" to keep the stored value.",
    )
    category = serializers.ChoiceField(choices=SecretCategory.choices, required=False,
                                       help_text="Default: inferred from the key's service.",
                                       error_messages=_choice_error(SecretCategory))
    profile = ProfileField(required=False, help_text="Default on create: default.")
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    ssh_tunnel = serializers.SerializerMethodField()
    ssh = SSHTunnelSerializer(write_only=True, required=False, allow_null=True,
                              help_text="SSH secrets only; null removes the tunnel.")
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True,
                                       allow_null=True)
    updated_by = serializers.CharField(source="updated_by.username", read_only=True,
                                       allow_null=True)

    @extend_schema_field(SSHTunnelSerializer(allow_null=True))
    def get_ssh_tunnel(self, secret):
        tunnel = getattr(secret, "ssh_tunnel", None)
        return SSHTunnelSerializer(tunnel).data if tunnel is not None else None

    def validate(self, attrs):
        # On create the mask is the service's to refuse (validation.check_value, R17.9).
        if self.instance is not None and attrs.get("value") in (MASK, ""):
            # What a client read back (the mask) or left empty keeps the stored value, as
            # omitting it does: a GET-then-PUT round trip must never overwrite a secret (R8).
            attrs.pop("value")
        return attrs

    @staticmethod
    def _tunnel(data):
        return None if data is None else SSHTunnelData(
            host=data["host"], port=data.get("port", 22), username=data["username"],
            password=data.get("password"), private_key=data.get("private_key"),
        )

    def create(self, validated):
        ssh = validated.pop("ssh", None)
        return create_secret(self.context["request"].user, ssh=self._tunnel(ssh), **validated)

    def update(self, instance, validated):
        extra = {}
        if "ssh" in validated:
            extra["ssh"] = self._tunnel(validated.pop("ssh"))
        return update_secret(instance, self.context["request"].user,
                             value=validated.pop("value", None), **validated, **extra)


class RevealedTunnelField(serializers.DictField):
    """A decrypt answer's tunnel, shaped as the ssh-tunnel answer is. Only SSH secrets carry
    one: without it the key is left out, not null. The schema still says object."""

    def get_attribute(self, instance):
        tunnel = super().get_attribute(instance)
        if tunnel is None:
            raise SkipField()
        return tunnel

    def to_representation(self, tunnel):
        return dict(RevealedTunnelSerializer(tunnel).data)


# The decrypt answer (R8.6), from what services.reveal.decrypt_with_tunnel opened. A comment,
# not a docstring: drf-spectacular would put a docstring in the schema.
class DecryptedSecretSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="secret.pk")
    name = serializers.CharField(source="secret.name")
    key = serializers.CharField(source="secret.key")
    profile = serializers.CharField(source="secret.profile")
    value = serializers.CharField(help_text="The plaintext.")
    ssh_tunnel = RevealedTunnelField(source="tunnel", required=False, help_text="SSH secrets: "
                                     "the tunnel, password and private_key decrypted.")


# The ssh-tunnel request; the schema names it TunnelRequest (drf-spectacular adds "Request").
class TunnelSerializer(serializers.Serializer):
    profile = ProfileField(default=DEFAULT_PROFILE)
    name = serializers.CharField(required=False, help_text="An SSH secret's name; default: "
                                 "the profile's first tunnel, else the SSH_* keys.")


class RevealedTunnelSerializer(serializers.Serializer):
    host = serializers.CharField()
    port = serializers.IntegerField()
    username = serializers.CharField()
    password = serializers.CharField(allow_null=True)
    private_key = serializers.CharField(allow_null=True)


class ProfileCountSerializer(serializers.Serializer):
    profile = serializers.CharField()
    count = serializers.IntegerField()


class VersionSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", read_only=True,
                                       allow_null=True)
    # Not get_value: that name is DRF's own Field.get_value, whose docstring the schema read.
    value = serializers.SerializerMethodField(method_name="masked",
                                              help_text="Always ********.")

    class Meta:
        model = SecretVersion
        fields = ["number", "value", "created_at", "created_by", "restored_from"]

    def masked(self, version) -> str:
        return MASK


# The import's multipart body; the schema names it ImportRequest.
class ImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The YAML (or .env) file; or send it as the raw "
                                 "body with Content-Type application/yaml.")


class ProblemSerializer(serializers.Serializer):
    profile = serializers.CharField()
    key = serializers.CharField(
        allow_blank=True, help_text="Empty where the problem stands for several entries.")
    reason = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    entries = serializers.IntegerField(
        help_text="How many entries of the file this problem stands for: 1, or all of a "
                  "section whose profile is not configured (named once).")


class ImportSummarySerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    skipped_entries = ProblemSerializer(many=True)
    failures = ProblemSerializer(many=True)

    def to_representation(self, summary: ImportSummary):
        return summary.as_dict()


class ApiTokenSerializer(serializers.ModelSerializer):
    expires_in_days = serializers.IntegerField(
        write_only=True, required=False, allow_null=True, min_value=1, max_value=3650,
        help_text="Default 90; null for a token that does not expire.",
    )
    active = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at",
                  "revoked_at", "active", "expires_in_days"]
        read_only_fields = ["prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]

    def get_active(self, token) -> bool:
        return token.is_usable()


class NewApiTokenSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]


class SubjectField(serializers.CharField):
    """A grant's user (by username) or group (by name): text in, the name out."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, allow_blank=True, max_length=150,
                         **kwargs)

    def to_representation(self, subject):
        return subject.get_username() if hasattr(subject, "get_username") else subject.name


class GrantSerializer(serializers.Serializer):
    """A role on one profile for a user or a group (R18): name one of them."""

    id = serializers.IntegerField(read_only=True)
    user = SubjectField(help_text="A username; or name a group instead.")
    group = SubjectField(help_text="A group's name; or name a user instead.")
    profile = ProfileField()
    role = serializers.ChoiceField(choices=Role.choices, error_messages=_choice_error(Role),
                                   help_text="reader: decrypt and fetch; editor: also create, "
                                             "update, delete, import and restore.")
    created_at = serializers.DateTimeField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True,
                                       allow_null=True)

    def validate(self, attrs):
        # The service names what is missing ("No user named 'x'", "Name a user or a group").
        try:
            attrs["subject"] = find_subject(user=attrs.pop("user", None),
                                            group=attrs.pop("group", None))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return attrs


class ServiceTokenSerializer(serializers.ModelSerializer):
    """A program's token (R19). The key is never shown here: only when it is created."""

    keys = serializers.ListField(
        child=serializers.CharField(), source="key_patterns", required=False,
        help_text="Shell-style key patterns, e.g. [\"POSTGRES_*\"]; empty or omitted: every "
                  "key of its profiles.")
    profiles = serializers.ListField(
        child=serializers.CharField(),
        help_text="The profiles it may read, one or more of SECRETS_PROFILES.")
    allowed_networks = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="Client networks (CIDRs) it may be used from; empty or omitted: anywhere.")
    expires_in_days = serializers.IntegerField(
        write_only=True, required=False, allow_null=True, min_value=1,
        max_value=MAX_LIFETIME_DAYS, help_text="Default 90; null for a token that never expires.",
        error_messages=dict.fromkeys(("min_value", "max_value"), (
            f"Choose between 1 and {MAX_LIFETIME_DAYS} days, or null for a token that never "
            "expires.")))
    created_by = serializers.CharField(source="created_by.username", read_only=True,
                                       allow_null=True)

    class Meta:
        model = ServiceToken
        fields = ["id", "name", "prefix", "profiles", "keys", "allowed_networks", "created_by",
                  "created_at", "expires_at", "last_used_at", "revoked_at", "expires_in_days"]
        read_only_fields = ["prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]


class NewServiceTokenSerializer(ServiceTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once: store it now.")

    class Meta(ServiceTokenSerializer.Meta):
        fields = ["id", "key", *ServiceTokenSerializer.Meta.fields[1:]]


class CredentialSerializer(serializers.Serializer):
    value = serializers.CharField()
    source = serializers.ChoiceField(choices=["database", "environment", "config_file", "aws"])
    profile = serializers.CharField(help_text="The profile whose entry answered: `default` "
                                    "when the profile asked for lacks the key (and for the "
                                    "environment, which has no profiles).")


class CredentialsSerializer(serializers.Serializer):
    """The answer of GET /credentials (R20); written by the service, described here."""

    profile = serializers.CharField()
    credentials = serializers.DictField(child=CredentialSerializer())
    missing = serializers.ListField(child=serializers.CharField(),
                                    help_text="Keys asked for that no source holds.")
    fallback = serializers.BooleanField(help_text="Whether `default`'s entries answered for "
                                        "keys the profile lacks: false when the caller may not "
                                        "read `default` (then neither `default` nor the "
                                        "environment is asked).")
