"""The environment of a process the product starts (R17.1): the operator's environment minus
the server's own configuration, plus what the caller passes (a profile's values)."""

import os
from collections.abc import Mapping

from django.conf import settings

SERVER_PREFIXES = ("DJANGO_", "SECRETS_", "KOZMO_")
SERVER_NAMES = frozenset({"DATABASE_URL", "REDIS_URL"})


def is_server_configuration(name: str) -> bool:
    """True for a variable that configures this server (keys, database, cache, Django)."""
    upper = name.upper()  # Windows names are case-insensitive; be strict everywhere
    return upper in SERVER_NAMES or upper.startswith(SERVER_PREFIXES)


def _dotenv_only_names() -> frozenset[str]:
    # settings.py records what it loaded from .env; before settings exist nothing was loaded.
    if not settings.configured:
        return frozenset()
    return getattr(settings, "DOTENV_ONLY_NAMES", frozenset())


def child_environment(
    values: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """`base` (default: os.environ) without server configuration and without anything only
    `.env` put there, then `values` on top (they win, whatever their names)."""
    base = os.environ if base is None else base
    loaded_from_dotenv = _dotenv_only_names()
    environment = {
        name: value for name, value in base.items()
        if not is_server_configuration(name) and name not in loaded_from_dotenv
    }
    environment.update(values or {})
    return environment


# What the server signs in with or reaches the network through, from its environment.
# boto3's keys (read only while the AWS source is on: otherwise they are a program's own):
AWS_SIGN_IN = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                         "AWS_SECURITY_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"})
# libpq's (psycopg) way to PostgreSQL, when the database is PostgreSQL:
LIBPQ_SIGN_IN = frozenset({
    "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGPASSFILE",
    "PGSERVICE", "PGSERVICEFILE", "PGSSLKEY", "PGSSLCERT", "PGSSLROOTCERT", "PGSSLPASSWORD",
    "PGOPTIONS",
})
# Proxies (a proxy's URL may hold its password), always: every <scheme>_PROXY, as Python's
# urllib reads them.


def is_server_sign_in(name: str) -> bool:
    """The server's own way in to AWS, PostgreSQL or its proxy (R20.3)."""
    upper = name.upper()
    if upper.endswith("_PROXY"):
        return True
    if upper in AWS_SIGN_IN:
        return bool(settings.SECRETS_AWS_REGION)
    if upper in LIBPQ_SIGN_IN:
        engine = settings.DATABASES["default"]["ENGINE"]
        return "postgresql" in engine or "postgis" in engine
    return False


def withheld(name: str) -> bool:
    """Never answered from the server's environment to anyone who asks (the environment
    source, `env_var` templates in a config file or an import): the server's configuration,
    what only `.env` set, and the server's own sign-in (R17.1, R20.3)."""
    return (is_server_configuration(name) or name in _dotenv_only_names()
            or is_server_sign_in(name))


def is_readable(name: str) -> bool:
    """Whether a program may read the variable `name` from the server's environment: it is
    set and not withheld. The import's `env_var` templates follow this rule."""
    return name in os.environ and not withheld(name)
