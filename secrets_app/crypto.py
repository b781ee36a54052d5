"""Encryption of secret values: key validation, HKDF derivation, MultiFernet.

Every configured key must be at least 32 printable ASCII characters. A key that already is a
Fernet key (urlsafe base64 of 32 bytes) is used as is; any other key is stretched into one with
HKDF-SHA256. The first key encrypts; all keys decrypt, which is what makes rotation possible.
There is no built-in fallback key: without a valid key the process does not start.
"""

import base64
import binascii
from collections.abc import Sequence
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.views.decorators.debug import sensitive_variables

MIN_KEY_LENGTH = 32
HKDF_SALT = b"kozmo-secrets/fernet"
HKDF_INFO = b"kozmo-secrets value encryption v1"
GENERATE_HINT = "Generate one with: python manage.py generate_encryption_key"


class DecryptionError(Exception):
    """A token that none of the configured keys can open (wrong key, or damaged data)."""


def generate_key() -> str:
    """A fresh random key in Fernet format (44 characters)."""
    return Fernet.generate_key().decode("ascii")


def validate_key(key: str, variable: str) -> None:
    """Raise ImproperlyConfigured naming `variable` unless `key` is usable."""
    if len(key) < MIN_KEY_LENGTH:
        raise ImproperlyConfigured(
            f"{variable} must be at least {MIN_KEY_LENGTH} characters long "
            f"(this one has {len(key)}). {GENERATE_HINT}"
        )
    if not all("!" <= char <= "~" for char in key):
        raise ImproperlyConfigured(
            f"{variable} is malformed: use printable ASCII only, with no spaces, control "
            f"or non-ASCII characters. {GENERATE_HINT}"
        )


def _fernet_key(key: str) -> bytes:
    """The key itself if it is already a Fernet key, else 32 bytes derived with HKDF."""
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
        if len(raw) == 32 and len(key) == 44:
            return key.encode("ascii")
    except (binascii.Error, ValueError):
        pass
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(
        key.encode("ascii")
    )
    return base64.urlsafe_b64encode(derived)


class EncryptionService:
    """Encrypts with the first key, decrypts with any of them.

    The installation's service (`get_encryption_service`, built with check_stored_data=True)
    seals and opens nothing until its keys have opened what the database holds (R17.21): the
    first use runs the key check (secrets_app/keycheck.py), and after one success it is a
    boolean for the rest of the process. A wrong key raises WrongEncryptionKey there, on
    every way in, so a server that started while the database was down cannot write under it.
    """

    def __init__(self, keys: Sequence[str], variable: str = "SECRETS_ENCRYPTION_KEYS", *,
                 check_stored_data: bool = False):
        if not keys:
            raise ImproperlyConfigured(
                f"{variable} is empty: set SECRETS_ENCRYPTION_KEY to a key of at least "
                f"{MIN_KEY_LENGTH} characters. {GENERATE_HINT}"
            )
        for position, key in enumerate(keys, start=1):
            name = variable if len(keys) == 1 else f"{variable} (key {position})"
            validate_key(key, name)
        fernets = [Fernet(_fernet_key(key)) for key in keys]
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)
        self.variable = variable
        # Keys made for another purpose (a test, a benchmark) have no stored data to match.
        self.key_check_passed = not check_stored_data

    def _require_key_check(self) -> None:
        if not self.key_check_passed:
            from secrets_app.keycheck import require_key_check  # keycheck imports this module

            self.key_check_passed = require_key_check(self)

    def opens(self, token: str) -> bool:
        """True when one of the keys opens the token. Not gated: this is the key check."""
        try:
            self._all.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    @sensitive_variables()
    def encrypt(self, plaintext: str) -> str:
        self._require_key_check()
        return self._primary.encrypt(plaintext.encode("utf-8")).decode("ascii")

    @sensitive_variables()
    def decrypt(self, token: str) -> str:
        self._require_key_check()
        try:
            return self._all.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise DecryptionError("No configured key can decrypt this value.") from exc

    def is_current(self, token: str) -> bool:
        """True when the first (encrypting) key opens the token: rotation can skip it."""
        self._require_key_check()
        try:
            self._primary.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    @sensitive_variables()
    def rotate(self, token: str) -> str:
        """The same plaintext, encrypted under the first key."""
        self._require_key_check()
        try:
            return self._all.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise DecryptionError("No configured key can decrypt this value.") from exc


def configured_keys() -> tuple[list[str], str]:
    """The keys from settings and the name of the variable they came from."""
    many = settings.SECRETS_ENCRYPTION_KEYS
    single = settings.SECRETS_ENCRYPTION_KEY
    if many is not None and many.strip():
        keys = [key.strip() for key in many.split(",")]
        if any(not key for key in keys):
            raise ImproperlyConfigured(
                "SECRETS_ENCRYPTION_KEYS is malformed: it holds an empty key (two commas in a "
                "row, or a trailing comma). List the keys separated by single commas."
            )
        if single:
            # Both set (say, KEYS exported for a rotation, KEY left in .env): the single key
            # must still be valid and must be one of the list, or the operator is confused.
            validate_key(single, "SECRETS_ENCRYPTION_KEY")
            if single not in keys:
                raise ImproperlyConfigured(
                    "SECRETS_ENCRYPTION_KEY and SECRETS_ENCRYPTION_KEYS are both set and "
                    "SECRETS_ENCRYPTION_KEY is not one of SECRETS_ENCRYPTION_KEYS. "
                    "Set only one of them."
                )
        return keys, "SECRETS_ENCRYPTION_KEYS"
    if single is None or not single.strip():
        raise ImproperlyConfigured(
            "SECRETS_ENCRYPTION_KEY is not set. Set it to a key of at least "
            f"{MIN_KEY_LENGTH} characters (or list several in SECRETS_ENCRYPTION_KEYS). "
            f"{GENERATE_HINT}"
        )
    return [single], "SECRETS_ENCRYPTION_KEY"


@cache
def get_encryption_service() -> EncryptionService:
    """The process's one EncryptionService, built from settings on first use."""
    keys, variable = configured_keys()
    return EncryptionService(keys, variable, check_stored_data=True)


@receiver(setting_changed)
def _forget_service_on_key_change(*, setting, **kwargs):
    if setting.startswith("SECRETS_ENCRYPTION_KEY"):
        get_encryption_service.cache_clear()
