"""R10.6: a missing, short or malformed key stops manage.py and the WSGI app at start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def run(args, **env_changes):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECRETS_ENCRYPTION_KEY", "DJANGO_SETTINGS_MODULE"))
    }
    env.update({"KOZMO_IGNORE_DOTENV": "1", "DJANGO_SECRET_KEY": "x" * 50})
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_R10_6_short_key_stops_manage_py_check_with_a_clear_message():
    result = run(["manage.py", "check"], SECRETS_ENCRYPTION_KEY="tooshort")
    assert result.returncode != 0
    assert "SECRETS_ENCRYPTION_KEY" in result.stderr
    assert "at least 32 characters" in result.stderr
    assert "Traceback" not in result.stderr


def test_R10_6_missing_key_stops_manage_py():
    result = run(["manage.py", "check"])
    assert result.returncode != 0
    assert "SECRETS_ENCRYPTION_KEY is not set" in result.stderr


def test_R10_6_malformed_key_stops_manage_py():
    result = run(["manage.py", "check"], SECRETS_ENCRYPTION_KEY="spaces are not allowed in " * 3)
    assert result.returncode != 0
    assert "malformed" in result.stderr


def test_R10_6_short_key_stops_the_wsgi_app():
    result = run(["-c", "import kozmo_secrets.wsgi"], SECRETS_ENCRYPTION_KEY="tooshort")
    assert result.returncode != 0
    assert "at least 32 characters" in result.stderr


def test_a_valid_key_starts():
    result = run(["manage.py", "check"], SECRETS_ENCRYPTION_KEY="k" * 32)
    assert result.returncode == 0, result.stderr


def test_generate_encryption_key_works_before_any_key_exists():
    result = run(["manage.py", "generate_encryption_key"])
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert len(key) == 44
    Fernet(key.encode())  # a valid Fernet key
    second = run(["manage.py", "generate_encryption_key"]).stdout.strip()
    assert second != key


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY"])
def test_missing_django_secret_key_is_a_clear_error(missing):
    result = run(["manage.py", "check"], SECRETS_ENCRYPTION_KEY="k" * 32, **{missing: ""})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_R10_6_short_key_stops_runserver_instead_of_hanging():
    """The auto-reloader would catch the error and wait for file changes: it must not."""
    result = run(["manage.py", "runserver", "127.0.0.1:0"], SECRETS_ENCRYPTION_KEY="tooshort")
    assert result.returncode == 1
    assert "at least 32 characters" in result.stderr
