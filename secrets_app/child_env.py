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


def is_readable(name: str) -> bool:
    """Whether a program may read the variable `name`: it is set and a child process would
    inherit it (not the server's configuration, not put there only by `.env`). The import's
    `env_var` templates follow the same rule as children (R17.1)."""
    return (name in os.environ and not is_server_configuration(name)
            and name not in _dotenv_only_names())
