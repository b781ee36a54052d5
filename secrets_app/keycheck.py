"""Does the configured key open what is stored? (R17.21)

A key that is valid but not the one the data was written with (a restore with another
installation's key) would otherwise be noticed only at the first decrypt, after new values
had already been written under it. Start-up (manage.py, the WSGI app) refuses such a key and
/healthz reports it. One query: the KeyCheck sentinel, or while there is none (a database
from before the sentinel's migration, or flushed) the newest stored value.
"""

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections

from .crypto import DecryptionError, configured_keys, get_encryption_service

SENTINEL_TEXT = "kozmo-secrets key check v1"

OK = "ok"
WRONG_KEY = "wrong key"
NOT_CHECKED = "not checked"  # no database yet, no table yet, or nothing stored


def _stored_token(using: str) -> str | None:
    """The sentinel's token, else the newest value's (by the indexed created_at)."""
    from .models import KeyCheck, Secret

    try:
        token = KeyCheck.objects.using(using).values_list("value", flat=True).first()
    except DatabaseError:
        if connections[using].connection is None:  # unreachable: no second attempt
            raise
        token = None  # a database from before the sentinel's migration
    if token is None:
        token = (Secret.objects.using(using).order_by("-created_at")
                 .values_list("value", flat=True).first())
    return None if token is None else token.token


def key_status(using: str = "default") -> str:
    """OK, WRONG_KEY, or NOT_CHECKED when there is nothing (reachable) to check against."""
    try:
        token = _stored_token(using)
    except Exception:
        # Unreachable, not migrated, or database access refused (a test runner importing the
        # WSGI app): not this check's business, /healthz reports the database. Only a key
        # that fails to decrypt refuses start-up.
        return NOT_CHECKED
    if token is None:
        return NOT_CHECKED
    try:
        get_encryption_service().decrypt(token)
    except DecryptionError:
        return WRONG_KEY
    return OK


def wrong_key_message() -> str:
    _, variable = configured_keys()
    return (
        f"{variable} does not open the values stored in the database: they were encrypted "
        "with another key (a backup restored with a different installation's key?). Set "
        f"{variable} to the key the data was written with; during a key rotation, list every "
        "key still in use in SECRETS_ENCRYPTION_KEYS (the new one first). The server refuses "
        "to start so that nothing is written under the wrong key."
    )


def check_stored_data_opens(using: str = "default") -> None:
    """Raise ImproperlyConfigured naming the variable when the configured keys cannot open
    the stored data. Closes the connection it opened, so nothing is shared across a fork."""
    try:
        status = key_status(using)
    finally:
        if not connections[using].in_atomic_block:
            connections[using].close()
    if status == WRONG_KEY:
        raise ImproperlyConfigured(wrong_key_message())
