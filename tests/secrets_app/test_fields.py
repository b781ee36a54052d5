"""Sealed values and EncryptedField (R1.1 to R1.3): masked everywhere, decrypted only on reveal."""

import pytest
from django.db import connection

from secrets_app import crypto
from secrets_app.constants import MASK
from secrets_app.fields import Sealed
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret


def test_R1_3_sealed_prints_the_fixed_mask():
    sealed = Sealed.encrypt("hunter2")
    assert str(sealed) == MASK
    assert repr(sealed) == f"Sealed({MASK})"
    assert f"{sealed}" == MASK
    assert f"{sealed:>12}" == f"{MASK:>12}"
    assert "hunter2" not in str([sealed, {"v": sealed}])
    assert sealed.reveal() == "hunter2"


def test_R1_3_mask_does_not_depend_on_the_value():
    assert str(Sealed.encrypt("")) == str(Sealed.encrypt("x" * 5000)) == MASK


def test_R1_2_assigning_text_encrypts_at_once(admin_user):
    secret = Secret(name="N", key="K", value="plain-canary")
    assert isinstance(secret.value, Sealed)
    assert "plain-canary" not in secret.__dict__.values()
    assert secret.value.reveal() == "plain-canary"


def test_R1_1_the_column_holds_a_fernet_token(admin_user):
    secret = create_secret(admin_user, name="N", key="K", value="column-canary")
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM secrets_app_secret WHERE id = %s", [secret.pk.hex
                       if connection.vendor == "sqlite" else secret.pk])
        (stored,) = cursor.fetchone()
    assert "column-canary" not in stored
    assert stored.startswith("gAAAAA")  # Fernet version byte, base64
    assert crypto.get_encryption_service().decrypt(stored) == "column-canary"


def test_R4_1_listing_never_decrypts(admin_user, monkeypatch):
    for number in range(5):
        create_secret(admin_user, name=f"S{number}", key="K", value=f"v{number}")

    def refuse(*args, **kwargs):
        raise AssertionError("listing decrypted a value")

    monkeypatch.setattr(crypto.EncryptionService, "decrypt", refuse)
    rows = list(Secret.objects.all())
    assert [str(row.value) for row in rows] == [MASK] * 5


def test_value_lookups_are_refused():
    with pytest.raises(Exception, match=r"Unsupported lookup|exact"):
        list(Secret.objects.filter(value="x"))
