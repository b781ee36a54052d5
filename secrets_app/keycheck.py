"""Does the configured key open what is stored? (R17.21)

A key that is valid but not the one the data was written with (a restore with another
installation's key) would otherwise be noticed only at the first decrypt, after new values
had already been written under it. Start-up (manage.py, the WSGI app) refuses such a key and
/healthz reports it. Start-up cannot decide while the database is unreachable, so the same
check also guards the first encrypt or decrypt of each process (`require_key_check`, called by
the installation's EncryptionService): until it has passed, nothing is sealed or opened with
the configured keys. One query: the KeyCheck sentinel, or while there is none (a database from
before the sentinel's migration, or flushed) the newest stored value.
"""

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections

from secrets_app.crypto import configured_keys, get_encryption_service

SENTINEL_TEXT = "kozmo-secrets key check v1"

OK = "ok"
WRONG_KEY = "wrong key"
UNREACHABLE = "database unreachable"
NOT_CHECKED = "not checked"  # nothing stored yet (or no table yet) to contradict the keys


class KeyCheckFailed(Exception):
    """The configured keys may not be used now: the API answers 503 JSON, the console a 503
    page (or the htmx toast), a command an error, all with this message."""


class WrongEncryptionKey(KeyCheckFailed, ImproperlyConfigured):
    """The configured keys do not open what is stored. Also an ImproperlyConfigured, so
    manage.py reports it as a configuration error whatever the command."""


class KeyCheckUnavailable(KeyCheckFailed):
    """The database cannot be reached, so the keys cannot be checked against it yet."""

    def __init__(self):
        super().__init__(
            "The database cannot be reached, so the encryption key (SECRETS_ENCRYPTION_KEY(S)) "
            "cannot be checked against the stored values yet; nothing was encrypted or "
            "decrypted. Try again when the database is back."
        )


def _stored_token(using: str) -> str | None:
    """The sentinel's token, else the newest value's (by the indexed created_at); None when
    neither table holds one. Raises DatabaseError when the database does not answer."""
    from secrets_app.models import KeyCheck, Secret

    # Asking which tables exist (rather than trying and failing) keeps a missing table apart
    # from a dead connection, and leaves an enclosing transaction usable.
    tables = set(connections[using].introspection.table_names())
    for model, newest_first in ((KeyCheck, False), (Secret, True)):
        if model._meta.db_table not in tables:
            continue  # not migrated yet: a database from before the sentinel's migration
        rows = model.objects.using(using)
        if newest_first:
            rows = rows.order_by("-created_at")
        sealed = rows.values_list("value", flat=True).first()
        if sealed is not None:
            return sealed.token
    return None


def key_status(using: str = "default", service=None) -> str:
    """OK, WRONG_KEY, UNREACHABLE, or NOT_CHECKED when nothing is stored to check against."""
    service = service or get_encryption_service()
    try:
        token = _stored_token(using)
    except DatabaseError:
        return UNREACHABLE
    except Exception:
        # Database access refused (a test runner importing the WSGI app, a test without
        # database access): nothing can be stored or read through it either.
        return NOT_CHECKED
    if token is None:
        return NOT_CHECKED
    return OK if service.opens(token) else WRONG_KEY


def wrong_key_message(variable: str | None = None, *, at_start_up: bool = True) -> str:
    variable = variable or configured_keys()[1]
    consequence = (
        "The server refuses to start so that nothing is written under the wrong key."
        if at_start_up else
        "Nothing is encrypted or decrypted with it, so nothing is written under the wrong key."
    )
    return (
        f"{variable} does not open the values stored in the database: they were encrypted "
        "with another key (a backup restored with a different installation's key?). Set "
        f"{variable} to the key the data was written with; during a key rotation, list every "
        f"key still in use in SECRETS_ENCRYPTION_KEYS (the new one first). {consequence}"
    )


def require_key_check(service, using: str = "default") -> bool:
    """The gate in front of the installation's keys: True once they open what is stored (the
    service then remembers it for the process), False while nothing is stored yet (a fresh or
    not yet migrated database: asked again next time). Raises WrongEncryptionKey, or
    KeyCheckUnavailable while the database cannot answer."""
    status = key_status(using, service)
    if status == WRONG_KEY:
        raise WrongEncryptionKey(wrong_key_message(service.variable, at_start_up=False))
    if status == UNREACHABLE:
        raise KeyCheckUnavailable()
    return status == OK


def check_stored_data_opens(using: str = "default") -> None:
    """At start-up: raise ImproperlyConfigured naming the variable when the configured keys
    cannot open the stored data; an unreachable or empty database does not block start-up
    (the first encrypt or decrypt checks again). Closes the connection it opened, so nothing
    is shared across a fork."""
    service = get_encryption_service()
    try:
        status = key_status(using, service)
    finally:
        if not connections[using].in_atomic_block:
            connections[using].close()
    if status == WRONG_KEY:
        raise WrongEncryptionKey(wrong_key_message(service.variable))
    if status == OK:
        service.key_check_passed = True
