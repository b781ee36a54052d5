"""`Sealed` values and the `EncryptedField` that stores them.

A Sealed holds a Fernet token, never plaintext. Its str()/repr()/format() is the fixed mask, so
a secret cannot reach a template, a log line, a serializer or an error page by accident, and
loading rows never decrypts anything. Only `.reveal()` decrypts.

Assigning a str to an EncryptedField attribute encrypts it at once: the model instance never
holds plaintext, not even between assignment and save.
"""

from django import forms
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.views.decorators.debug import sensitive_variables

from secrets_app.constants import MASK
from secrets_app.crypto import get_encryption_service


class SerializationRefused(TypeError):
    pass


class Sealed:
    """An encrypted value. Masked when printed; `.reveal()` decrypts."""

    __slots__ = ("token",)

    def __init__(self, token: str):
        if not isinstance(token, str):
            raise TypeError("Sealed holds a Fernet token (str).")
        self.token = token

    @classmethod
    @sensitive_variables()
    def encrypt(cls, plaintext: str) -> "Sealed":
        if not isinstance(plaintext, str):
            raise TypeError(f"A secret value must be text, not {type(plaintext).__name__}.")
        return cls(get_encryption_service().encrypt(plaintext))

    def reveal(self) -> str:
        """The plaintext. Callers are responsible for auditing why they needed it."""
        return get_encryption_service().decrypt(self.token)

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Sealed({MASK})"

    def __format__(self, format_spec: str) -> str:
        return format(MASK, format_spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)


@sensitive_variables()
def seal(value):
    """None stays None, a Sealed stays as it is, text is encrypted."""
    if value is None or isinstance(value, Sealed):
        return value
    return Sealed.encrypt(value)


class SealingAttribute(DeferredAttribute):
    """Model attribute that encrypts text the moment it is assigned."""

    @sensitive_variables()
    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = seal(value)


class EncryptedField(models.TextField):
    """Stores a Fernet token; its Python value is a `Sealed`."""

    descriptor_class = SealingAttribute

    def from_db_value(self, value, expression, connection):
        return None if value is None else Sealed(value)

    @sensitive_variables()
    def to_python(self, value):
        # Never str(): that would turn a Sealed into the mask and store the mask.
        return seal(value)

    @sensitive_variables()
    def get_prep_value(self, value):
        value = seal(value)
        return None if value is None else value.token

    def get_lookup(self, lookup_name):
        # Ciphertext is randomised: equality or substring lookups could only mislead.
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def value_from_object(self, obj):
        # Forms and admin never see a value, not even the ciphertext.
        return ""

    def value_to_string(self, obj):
        # dumpdata would write "" (see value_from_object) and loaddata would then blank every
        # secret: refuse instead of producing a backup that destroys data.
        raise SerializationRefused(
            f"{obj._meta.label}.{self.name} is encrypted and is not serialized. Back up the "
            "database itself (pg_dump or the SQLite file, keys kept apart), or use "
            "`manage.py export_secrets`."
        )

    def validate(self, value, model_instance):
        if value is None and not self.null:
            raise forms.ValidationError(self.error_messages["null"], code="null")

    def formfield(self, **kwargs):
        return forms.CharField(
            required=not self.blank,
            strip=False,
            widget=forms.PasswordInput(render_value=False),
            **{k: v for k, v in kwargs.items() if k in ("label", "help_text")},
        )
