"""R17.17: every command's --help prints its usage, on a fresh checkout before any key exists
(generate_encryption_key --help used to print a key)."""

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[1]
PROJECT_APPS = ("secrets_app", "audit_app", "kozmo_secrets")
FERNET_KEY = re.compile(r"^[A-Za-z0-9_-]{43}=$", re.MULTILINE)


def fresh_checkout_environment() -> dict:
    """No keys, no Django secret key, no database or cache configured, no .env read."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("SECRETS_", "DJANGO_", "KOZMO_"))
                   and name not in ("DATABASE_URL", "REDIS_URL")}
    environment["KOZMO_IGNORE_DOTENV"] = "1"
    return environment


def manage(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=fresh_checkout_environment(),
        capture_output=True, text=True, timeout=120,
    )


def test_r17_17_every_command_help_prints_usage_without_keys():
    commands = sorted(get_commands().items())
    own = [name for name, app in commands if app.startswith(PROJECT_APPS)]
    assert {"generate_encryption_key", "run_with_secrets", "verify_audit_log"} <= set(own)
    assert {"migrate", "check", "shell"} <= {name for name, _ in commands}

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(
            [name for name, _ in commands],
            pool.map(lambda name: manage(name, "--help"), [name for name, _ in commands]),
            strict=True,
        ))

    failures = {name: (result.returncode, (result.stdout + result.stderr)[:300])
                for name, result in results.items()
                if result.returncode != 0 or not result.stdout.startswith("usage:")}
    assert failures == {}


def test_r17_17_generate_encryption_key_help_prints_no_key():
    result = manage("generate_encryption_key", "--help")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: manage.py generate_encryption_key")
    assert "Print a new random encryption key" in result.stdout
    assert FERNET_KEY.search(result.stdout) is None


@pytest.mark.parametrize("args", [["generate_encryption_key"], ["-h"], ["--help"], ["help"],
                                  ["help", "import_secrets"]])
def test_r17_17_keyless_invocations_work_on_a_fresh_checkout(args):
    result = manage(*args)

    assert result.returncode == 0, result.stderr
    if args == ["generate_encryption_key"]:
        assert FERNET_KEY.fullmatch(result.stdout.strip())
    else:
        assert "manage.py" in result.stdout


def test_r17_17_other_commands_still_refuse_to_start_without_keys():
    result = manage("migrate", "--noinput")

    assert result.returncode == 1
    assert "SECRETS_ENCRYPTION_KEY is not set" in result.stderr


def test_r17_17_help_for_the_child_program_does_not_skip_the_key_check():
    """`run_with_secrets -- prog --help`: --help is the child's; the command needs keys."""
    result = manage("run_with_secrets", "--", "env", "--help")

    assert result.returncode == 1
    assert "SECRETS_ENCRYPTION_KEY is not set" in result.stderr
