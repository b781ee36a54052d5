"""gunicorn configuration for `make serve`: refuses to start a production server that would
silently be unsafe (R17.15, R17.16), and keeps the access log from driving the operator's
terminal (R17.12). The settings are loaded as the app will load them (environment first, then
`.env`), so the decision sees what the workers will see.

`python -m kozmo_secrets.gunicorn_conf WORKERS` runs the same check before `make serve`
migrates anything.
"""

import os
import sys

from gunicorn.glogging import Logger

from kozmo_secrets.escaping import printable

DEBUG_REFUSAL = (
    "DEBUG is on (DJANGO_DEBUG=true, as in the development .env that `make run` writes): "
    "every error page would show Django's debug page with code and settings, and the keys "
    "are probably the development ones. For production set DJANGO_DEBUG=false and real keys "
    "(DJANGO_SECRET_KEY, SECRETS_ENCRYPTION_KEY) in the environment or in .env; to try the "
    "product use `make run`."
)


def serve_refusals(workers: int) -> list[str]:
    """Why a production server with `workers` processes must not start (empty: it may)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kozmo_secrets.settings")
    from django.conf import settings

    from kozmo_secrets.checks import per_process_cache_problem

    refusals = []
    if settings.DEBUG:
        refusals.append(DEBUG_REFUSAL)
    cache_problem = per_process_cache_problem()
    if workers > 1 and cache_problem:
        refusals.append(f"WORKERS={workers} without a shared cache. {cache_problem} "
                        "Or run a single worker: WORKERS=1.")
    return refusals


def serve_warnings() -> list[str]:
    from kozmo_secrets.checks import private_file_warnings

    return private_file_warnings()


def refuse_or_warn(workers: int) -> None:
    """Print the warnings; print the refusals and exit 1 if there are any."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        refusals = serve_refusals(workers)
        warnings = serve_warnings()
    except ImproperlyConfigured as exc:
        refusals, warnings = [f"Configuration error: {exc}"], []
    for message in warnings:
        sys.stderr.write(f"Warning: {message}\n")
    if refusals:
        sys.stderr.write("Refusing to start the production server:\n")
        for message in refusals:
            sys.stderr.write(f"  - {message}\n")
        sys.exit(1)


class EscapingLogger(Logger):
    """The access log's atoms come from the client (the HTTP Basic username, the user agent,
    the request line, any header): an escape sequence in one would retitle or recolour the
    terminal that tails the log, a newline would forge a second line. Every text atom is
    shown with its non-printable characters escaped (\\x1b), on one line."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: printable(value, keep_newlines=False) if isinstance(value, str) else value
                for name, value in atoms.items()}


logger_class = EscapingLogger  # gunicorn setting: the class that writes its logs


def on_starting(server):
    """gunicorn hook, in the master before any worker starts."""
    refuse_or_warn(server.cfg.workers)


if __name__ == "__main__":
    argument = sys.argv[1] if len(sys.argv) > 1 else "1"
    if not argument.isdigit() or int(argument) < 1:
        sys.exit(f"WORKERS must be a whole number of at least 1, not {argument!r}.")
    refuse_or_warn(int(argument))
