"""EncryptionService: key rules (R10.5, R10.6), derivation, several keys (R11)."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from secrets_app.crypto import (
    DecryptionError,
    EncryptionService,
    configured_keys,
    generate_key,
    get_encryption_service,
)

KEY_A = "a" * 32
KEY_B = "b-key-0123456789-0123456789-0123456789"


def test_R10_5_short_key_names_the_variable_and_the_rule():
    with pytest.raises(ImproperlyConfigured) as error:
        EncryptionService(["tooshort"], "SECRETS_ENCRYPTION_KEY")
    message = str(error.value)
    assert "SECRETS_ENCRYPTION_KEY" in message
    assert "at least 32 characters" in message
    assert "tooshort" not in message  # the key itself is never echoed


@pytest.mark.parametrize("key", [" " + "x" * 40, "x" * 40 + "\n", "é" * 40, "tab\t" * 10])
def test_R10_6_malformed_key_is_refused(key):
    with pytest.raises(ImproperlyConfigured, match="malformed"):
        EncryptionService([key], "SECRETS_ENCRYPTION_KEY")


def test_R10_6_no_keys_is_refused():
    with pytest.raises(ImproperlyConfigured, match="SECRETS_ENCRYPTION_KEY"):
        EncryptionService([], "SECRETS_ENCRYPTION_KEYS")


def test_a_fernet_key_is_used_as_is():
    key = generate_key()
    token = EncryptionService([key]).encrypt("hello")
    assert Fernet(key.encode()).decrypt(token.encode()) == b"hello"


def test_a_passphrase_is_derived_with_hkdf_the_same_way_every_time():
    token = EncryptionService([KEY_A]).encrypt("hello")
    assert EncryptionService([KEY_A]).decrypt(token) == "hello"
    with pytest.raises(Exception):  # noqa: B017 - the raw passphrase is not the Fernet key
        Fernet(KEY_A.encode())


def test_R11_first_key_encrypts_every_key_decrypts():
    old = EncryptionService([KEY_A])
    both = EncryptionService([KEY_B, KEY_A])
    new_only = EncryptionService([KEY_B])
    old_token = old.encrypt("v1")
    assert both.decrypt(old_token) == "v1"
    assert not both.is_current(old_token)
    new_token = both.encrypt("v2")
    assert both.is_current(new_token)
    assert new_only.decrypt(new_token) == "v2"
    with pytest.raises(DecryptionError):
        new_only.decrypt(old_token)
    assert new_only.decrypt(both.rotate(old_token)) == "v1"


def test_unknown_token_raises_decryption_error():
    with pytest.raises(DecryptionError):
        EncryptionService([KEY_A]).decrypt("not-a-token")


def test_keys_list_wins_and_single_key_must_be_among_them(settings):
    settings.SECRETS_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    settings.SECRETS_ENCRYPTION_KEY = KEY_A
    assert configured_keys() == ([KEY_B, KEY_A], "SECRETS_ENCRYPTION_KEYS")
    settings.SECRETS_ENCRYPTION_KEY = "c" * 40
    with pytest.raises(ImproperlyConfigured, match="Set only one"):
        configured_keys()
    settings.SECRETS_ENCRYPTION_KEY = "short"
    with pytest.raises(ImproperlyConfigured, match="at least 32"):
        configured_keys()


def test_empty_entry_in_keys_list_is_malformed(settings):
    settings.SECRETS_ENCRYPTION_KEYS = f"{KEY_B},,{KEY_A}"
    settings.SECRETS_ENCRYPTION_KEY = None
    with pytest.raises(ImproperlyConfigured, match="empty key"):
        configured_keys()


def test_service_is_rebuilt_when_keys_change(use_keys):
    before = get_encryption_service()
    token = before.encrypt("v")
    use_keys(KEY_B)
    after = get_encryption_service()
    assert after is not before
    with pytest.raises(DecryptionError):
        after.decrypt(token)
