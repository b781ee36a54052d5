"""Helpers shared by several test modules. Fixtures live in conftest.py; a test module never
imports another test module or a conftest."""

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from django.db import connection, transaction
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
# The keys of a throwaway installation (Project).
KEY_A = "cli-key-A-0123456789-0123456789-0123456789"
KEY_B = "cli-key-B-0123456789-0123456789-0123456789"


@contextmanager
def rolled_back():
    """Run a block in a transaction that is always rolled back (one Hypothesis example)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def every_text_cell() -> list[str]:
    """Like pg_dump: every column of every table, cast to text."""
    cells = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = [
                column.name
                for column in connection.introspection.get_table_description(cursor, table)
            ]
            cast = "CAST({} AS TEXT)" if connection.vendor == "postgresql" else "{}"
            select = ", ".join(cast.format(quote(name)) for name in columns)
            cursor.execute(f"SELECT {select} FROM {quote(table)}")  # names come from introspection
            for row in cursor.fetchall():
                cells.extend(str(cell) for cell in row if cell is not None)
    return cells


# --- the authorization matrix (also walked by test_no_store) --------------------------------

# The authorization matrix's route table (tests/test_authorization_matrix.py, which defines
# the kinds in expected() and fails on a route without a row); test_no_store walks it too.
# route name -> (kind, methods tried).
ROUTES = {
    "home": ("console-read", ["GET"]),
    "login": ("public", ["GET"]),
    "logout": ("public", ["POST"]),
    "healthz": ("public", ["GET"]),
    "api:schema": ("public", ["GET"]),
    "api:docs": ("public", ["GET"]),
    "catalog": ("console-read", ["GET"]),
    "settings": ("console-read", ["GET", "POST"]),
    "token-revoke": ("console-own", ["POST"]),
    "secrets:list": ("console-read", ["GET"]),
    "secrets:masked": ("console-read", ["GET"]),
    "secrets:create": ("console-admin", ["GET", "POST"]),
    "secrets:edit": ("console-admin", ["GET", "POST"]),
    "secrets:delete": ("console-admin", ["GET", "POST"]),
    "secrets:decrypt": ("console-admin", ["POST"]),
    "secrets:import": ("console-admin", ["GET", "POST"]),
    "secrets:versions": ("console-admin", ["GET"]),
    "secrets:restore": ("console-admin", ["POST"]),
    "secrets:access": ("console-admin", ["GET", "POST"]),
    "secrets:access-remove": ("console-admin", ["POST"]),
    "secrets:service-tokens": ("console-admin", ["GET", "POST"]),
    "secrets:service-token-revoke": ("console-admin", ["POST"]),
    "audit:log": ("console-admin", ["GET"]),
    "audit:export": ("console-admin", ["GET"]),
    "audit:verify": ("console-admin", ["POST"]),
    "api:secret-list": ("api-read", ["GET", "POST"]),
    "api:secret-detail": ("api-read", ["GET", "PUT", "PATCH", "DELETE"]),
    "api:secret-profiles": ("api-read", ["GET"]),
    "api:secret-decrypt": ("api-admin", ["POST"]),
    "api:secret-ssh-tunnel": ("api-admin", ["POST"]),
    "api:secret-versions": ("api-admin", ["GET"]),
    "api:secret-restore": ("api-admin", ["POST"]),
    "api:secret-import-file": ("api-admin", ["POST"]),
    "api:audit-list": ("api-admin", ["GET"]),
    "api:audit-detail": ("api-admin", ["GET"]),
    "api:token-list": ("api-own", ["GET", "POST"]),
    "api:token-detail": ("api-own", ["DELETE"]),
    "api:grant-list": ("api-admin", ["GET", "POST"]),
    "api:grant-detail": ("api-admin", ["DELETE"]),
    "api:service-token-list": ("api-admin", ["GET", "POST"]),
    "api:service-token-detail": ("api-admin", ["DELETE"]),
    "api:credentials": ("api-admin", ["GET"]),
}


def url_for(name: str, world) -> str:
    kwargs = {
        "secrets:masked": {"pk": world["secret"].pk}, "secrets:edit": {"pk": world["secret"].pk},
        "secrets:delete": {"pk": world["secret"].pk},
        "secrets:decrypt": {"pk": world["secret"].pk},
        "secrets:versions": {"pk": world["secret"].pk},
        "secrets:restore": {"pk": world["secret"].pk, "number": 1},
        "token-revoke": {"pk": world["member_token"].pk},
        "secrets:access-remove": {"pk": 1}, "secrets:service-token-revoke": {"pk": 1},
        "api:secret-detail": {"pk": world["secret"].pk},
        "api:secret-decrypt": {"pk": world["secret"].pk},
        "api:secret-versions": {"pk": world["secret"].pk},
        "api:secret-restore": {"pk": world["secret"].pk, "number": "1"},
        "api:audit-detail": {"sequence": world["sequence"]},
        "api:token-detail": {"pk": world["member_token"].pk},
        "api:grant-detail": {"pk": 999999},  # refused before the lookup; an admin gets 404
        "api:service-token-detail": {"pk": 999999},
    }.get(name, {})
    return reverse(name, kwargs=kwargs)


# --- real manage.py processes (test_cli, test_cli_escapes) ----------------------------------

class Project:
    """A throwaway installation: its own SQLite file and its own keys."""

    def __init__(self, tmp_path: Path):
        self.db = tmp_path / "db.sqlite3"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SECRETS_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL"))
        }
        self.env.update(
            KOZMO_IGNORE_DOTENV="1",
            DJANGO_SECRET_KEY="cli-test-secret-key-" + "x" * 40,
            DATABASE_URL=f"sqlite:///{self.db}",
            SECRETS_ENCRYPTION_KEY=KEY_A,
            DJANGO_DEBUG="true",
        )

    def manage(self, *args, check=True, **env_changes):
        env = dict(self.env)
        for key, value in env_changes.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def shell(self, code, **env_changes):
        return self.manage("shell", "-c", code, **env_changes).stdout


# --- the browser tests (tests/browser/) ------------------------------------------------------

def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def log_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("[data-testid=login-submit]")
    page.wait_for_url("**/secrets/**")
