"""System checks for how the installation is deployed (registered by secrets_app's ready()).

`check --deploy` fails without a shared cache (R17.15); every command that runs checks
(`check`, `runserver`, `migrate`) warns when a file holding keys is readable by others (R17.20).
The WSGI and ASGI apps, which run no system checks, log the same warnings at start-up
(`log_start_up_warnings`), so `gunicorn kozmo_secrets.wsgi` started by hand warns too.
"""

import logging

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from kozmo_secrets.deployment import cache_scope, readable_by_others

logger = logging.getLogger(__name__)

PER_PROCESS_CACHE_MESSAGE = (
    "The cache is local to each process ({backend}): with several workers the decrypt limit "
    "and the sign-in limits count per process, so each worker grants a full budget."
)
PER_PROCESS_CACHE_HINT = (
    "Set REDIS_URL to a Redis database of its own (for example redis://127.0.0.1:6379/0) so "
    "every process shares one set of counters."
)


def per_process_cache_problem() -> str | None:
    """The reason a production server must not run on this cache, or None when it is shared."""
    cache_settings = settings.CACHES["default"]
    if cache_scope(cache_settings) == "shared":
        return None
    backend = cache_settings.get("BACKEND", "").rsplit(".", 1)[-1]
    return f"{PER_PROCESS_CACHE_MESSAGE.format(backend=backend)} {PER_PROCESS_CACHE_HINT}"


@register(Tags.security, deploy=True)
def shared_cache_check(app_configs=None, **kwargs):
    if settings.DEBUG or per_process_cache_problem() is None:
        return []
    backend = settings.CACHES["default"].get("BACKEND", "").rsplit(".", 1)[-1]
    return [Error(PER_PROCESS_CACHE_MESSAGE.format(backend=backend),
                  hint=PER_PROCESS_CACHE_HINT, id="kozmo.E001")]


def private_file_warnings() -> list[str]:
    """One message per file holding keys or secrets that others may read."""
    files = []
    if settings.DOTENV_FILE:
        files.append((settings.DOTENV_FILE, "holds the server's keys"))
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        files.append((str(database["NAME"]), "holds the encrypted values and the audit log"))
    return [
        f"{path} {why} and is readable by other users. Run: chmod 600 {path}"
        for path, why in files
        if readable_by_others(path)
    ]


@register(Tags.security)
def private_files_check(app_configs=None, **kwargs):
    return [Warning(message, id="kozmo.W001") for message in private_file_warnings()]


def start_up_warnings() -> list[str]:
    """What a production server should be told when it starts: files holding keys that
    others may read (R17.20) and, with DEBUG off, limits that count per process (R17.15)."""
    warnings = private_file_warnings()
    cache_problem = None if settings.DEBUG else per_process_cache_problem()
    if cache_problem:
        warnings.append(cache_problem)
    return warnings


_start_up_warned = False


def log_start_up_warnings() -> None:
    """The WSGI/ASGI start-up's warnings, on stderr through logging, once per process."""
    global _start_up_warned
    if _start_up_warned:
        return
    _start_up_warned = True
    for message in start_up_warnings():
        logger.warning("Warning: %s", message)
