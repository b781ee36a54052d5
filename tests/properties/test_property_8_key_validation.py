"""Property 8 (R10.5, R10.6): every key shorter than 32 characters is refused with a message
naming the variable and the rule; every printable key of 32 or more works."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

from secrets_app.crypto import EncryptionService

printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


@given(key=st.text(max_size=31))
def test_property_8_every_short_key_fails(key):
    with pytest.raises(ImproperlyConfigured) as error:
        EncryptionService([key], "SECRETS_ENCRYPTION_KEY")
    assert "SECRETS_ENCRYPTION_KEY" in str(error.value)
    assert "at least 32 characters" in str(error.value)


@given(key=st.text(alphabet=printable, min_size=32, max_size=300), plaintext=st.text())
def test_property_8_every_long_enough_key_works(key, plaintext):
    service = EncryptionService([key], "SECRETS_ENCRYPTION_KEY")
    assert service.decrypt(service.encrypt(plaintext)) == plaintext


@given(
    good=st.text(alphabet=printable, min_size=32, max_size=60),
    bad=st.text(max_size=31),
    position=st.integers(min_value=0, max_value=2),
)
def test_property_8_one_short_key_among_several_fails(good, bad, position):
    keys = [good, good + "x"]
    keys.insert(position, bad)
    with pytest.raises(ImproperlyConfigured, match=f"key {position + 1}"):
        EncryptionService(keys, "SECRETS_ENCRYPTION_KEYS")
