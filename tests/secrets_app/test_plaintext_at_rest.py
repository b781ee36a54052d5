"""R1.2: plaintext never reaches the database. Canary values go in through every path this
issue has (create, update, SSH tunnel, restore, rotation); then the raw database is searched."""

import sqlite3
import uuid

import pytest
from django.core.management import call_command
from django.db import connection

from secrets_app.crypto import configured_keys
from secrets_app.services.reveal import decrypt_secret
from secrets_app.services.secrets import (
    SSHTunnelData,
    create_secret,
    delete_secret,
    restore_version,
    update_secret,
)
from tests.helpers import every_text_cell

pytestmark = pytest.mark.django_db(transaction=True)


def canary() -> str:
    return f"CANARY-{uuid.uuid4().hex}"


def store_canaries(admin_user, use_keys) -> list[str]:
    canaries = [canary() for _ in range(8)]
    first = create_secret(admin_user, name="first", key="API_TOKEN", value=canaries[0])
    update_secret(first, admin_user, value=canaries[1], description="rotated by hand")
    restore_version(first, 1, admin_user)
    create_secret(
        admin_user, name="bastion", key="SSH_PRIVATE_KEY", value=canaries[2],
        ssh=SSHTunnelData(host="h", username="u", password=canaries[3], private_key=canaries[4]),
    )
    doomed = create_secret(admin_user, name="doomed", key="K", value=canaries[5])
    decrypt_secret(doomed, admin_user)
    delete_secret(doomed, admin_user)
    unicode_value = "ключ-" + canaries[6] + "-🔑"
    create_secret(admin_user, name="unicode", key="K", value=unicode_value)
    create_secret(admin_user, name="long", key="K", value=canaries[7] * 100)
    use_keys("rotation-key-0123456789-0123456789-012345", *configured_keys()[0])
    call_command("rotate_encryption_key", verbosity=0)
    return canaries


def test_R1_2_no_canary_in_any_column(admin_user, use_keys):
    canaries = store_canaries(admin_user, use_keys)
    dump = "\n".join(every_text_cell())
    assert "gAAAAA" in dump  # the scan does see the encrypted columns
    for value in canaries:
        assert value not in dump


@pytest.mark.skipif(connection.vendor != "sqlite", reason="reads SQLite's file format")
def test_R1_2_no_canary_in_the_sqlite_file_bytes(admin_user, use_keys, tmp_path):
    canaries = store_canaries(admin_user, use_keys)
    copy = tmp_path / "copy.sqlite3"
    target = sqlite3.connect(copy)
    connection.ensure_connection()
    connection.connection.backup(target)  # the whole database, pages and free pages included
    target.close()
    raw = copy.read_bytes()
    assert b"secrets_app_secret" in raw
    for value in canaries:
        assert value.encode() not in raw
        assert value.encode("utf-16-le") not in raw
