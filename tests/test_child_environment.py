"""R17.1: a process the product starts (run_with_secrets) gets the operator's environment
minus the server's own configuration, whether it came from `.env` or the shell, plus the
profile's values. Tested through the real command in a throwaway copy of the project, so
that its `.env` file is read exactly as on an operator's machine."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from secrets_app.child_env import child_environment, is_server_configuration

ROOT = Path(__file__).resolve().parents[1]
DOTENV_KEY = "dotenv-key-0123456789-0123456789-0123456789"
SHELL_SECRET_KEY = "shell-django-secret-" + "s" * 40
PRINT_ENVIRONMENT = "import json, os; print(json.dumps(dict(os.environ)))"


@pytest.fixture(params=["keys-in-dotenv", "keys-in-shell"])
def checkout(tmp_path, request):
    """A copy of the project whose `.env` holds server configuration and one plain name; the
    encryption key, the Django key and the database URL sit in `.env`, or in the shell."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("kozmo_secrets", "secrets_app", "audit_app"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=ignore)
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    keys = {
        "SECRETS_ENCRYPTION_KEY": DOTENV_KEY,
        "DJANGO_SECRET_KEY": SHELL_SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    in_dotenv = keys if request.param == "keys-in-dotenv" else {}
    (tmp_path / ".env").write_text(
        "".join(f"{name}={value}\n" for name, value in in_dotenv.items())
        + "DJANGO_DEBUG=true\n"
        "KOZMO_DOTENV_MARKER=from-dotenv\n"
        "SECRETS_CONFIG_FILE=\n"
        "ONLY_IN_DOTENV=dotenv-only-value\n"
        "IN_BOTH=dotenv-value\n"
    )
    tmp_path.joinpath(".env").chmod(0o600)
    shell = {name: value for name, value in os.environ.items()
             if not is_server_configuration(name)}
    shell.update(
        DJANGO_SETTINGS_MODULE="kozmo_secrets.settings",
        SECRETS_DECRYPT_RATE="1000/m",
        KOZMO_SHELL_MARKER="from-shell",
        REDIS_URL="",  # set but empty: still configuration, still not passed on
        OPERATOR_VARIABLE="keep-me",
        IN_BOTH="shell-value",
    )
    if not in_dotenv:
        shell.update(keys)

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=tmp_path, env=shell,
            capture_output=True, text=True, timeout=300,
        )

    result = manage("migrate", "--noinput")
    assert result.returncode == 0, result.stderr
    result = manage("shell", "-c", (
        "from django.contrib.auth.models import User\n"
        "from secrets_app.services.secrets import create_secret\n"
        "admin = User.objects.create_superuser('ops', '', 'ops-password')\n"
        "create_secret(admin, name='app', key='APP_TOKEN', value='profile-value')\n"
        "create_secret(admin, name='db', key='DATABASE_URL', value='postgres://app-db')\n"
    ))
    assert result.returncode == 0, result.stderr
    return manage


def test_r17_1_child_sees_no_server_configuration_from_dotenv_or_shell(checkout):
    result = checkout("run_with_secrets", "--", sys.executable, "-c", PRINT_ENVIRONMENT)

    assert result.returncode == 0, result.stderr
    child = json.loads(result.stdout.strip().splitlines()[-1])
    leaked = sorted(name for name in child if is_server_configuration(name)
                    and name != "DATABASE_URL")
    assert leaked == []
    assert DOTENV_KEY not in result.stdout
    assert SHELL_SECRET_KEY not in result.stdout
    assert "from-dotenv" not in result.stdout and "from-shell" not in result.stdout
    assert "ONLY_IN_DOTENV" not in child
    # The operator's own variables pass; the shell's value wins over .env's as before.
    assert child["OPERATOR_VARIABLE"] == "keep-me"
    assert child["IN_BOTH"] == "shell-value"
    assert "PATH" in child
    # The profile's values are there, also under a name the server uses for itself.
    assert child["APP_TOKEN"] == "profile-value"
    assert child["DATABASE_URL"] == "postgres://app-db"


def test_r17_1_env_program_sees_no_encryption_key(checkout):
    if shutil.which("env") is None:
        pytest.fail("the `env` program is missing")
    result = checkout("run_with_secrets", "--", "env")

    assert result.returncode == 0, result.stderr
    names = {line.split("=", 1)[0] for line in result.stdout.splitlines() if "=" in line}
    assert {"SECRETS_ENCRYPTION_KEY", "DJANGO_SECRET_KEY", "REDIS_URL", "DJANGO_DEBUG",
            "KOZMO_DOTENV_MARKER", "DJANGO_SETTINGS_MODULE", "ONLY_IN_DOTENV"} & names == set()
    assert "APP_TOKEN=profile-value" in result.stdout.splitlines()


def test_r17_1_the_rule_names_every_kind_of_server_configuration(settings):
    settings.DOTENV_ONLY_NAMES = frozenset({"FROM_DOTENV"})
    base = {
        "DJANGO_SECRET_KEY": "x", "SECRETS_ENCRYPTION_KEYS": "x", "KOZMO_IGNORE_DOTENV": "1",
        "DATABASE_URL": "x", "REDIS_URL": "x", "django_debug": "x", "FROM_DOTENV": "x",
        "HOME": "/home/ops", "MY_DATABASE_URL_COPY": "kept",
    }

    environment = child_environment({"API_KEY": "v"}, base=base)

    assert environment == {"HOME": "/home/ops", "MY_DATABASE_URL_COPY": "kept", "API_KEY": "v"}


def test_r17_1_every_process_the_code_starts_gets_the_built_environment():
    """Outside tests/, no code copies os.environ into a child, and every file that starts a
    process builds the child's environment with child_environment. Except the `kozmo`
    client: it runs on a program's machine, never in the server (no server configuration in
    its environment to keep out), imports only the standard library, and builds its child's
    environment itself (its own tests check it: the user's environment, the credentials,
    KOZMO_TOKEN removed)."""
    copies = ("**os.environ", "dict(os.environ)", "env=os.environ", "os.environ.copy()")
    starts = ("subprocess.run(", "subprocess.Popen(", "os.exec", "os.spawn", "os.system(",
              "subprocess.call(", "subprocess.check_")
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in ("tests", ".venv", "build") or "site-packages" in path.parts:
            continue
        if relative == Path("kozmo_secrets/client.py"):
            continue
        text = path.read_text()
        offenders += [f"{relative}: {copy}" for copy in copies if copy in text]
        if any(start in text for start in starts) and "child_environment(" not in text:
            offenders.append(f"{relative}: starts a process without child_environment")
    assert offenders == []
