"""R10.6: a missing, short or malformed key stops manage.py and the WSGI app at start-up.
R17.21: so does a valid key that does not open the data stored in the database."""

import os
import sqlite3
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
    # An empty in-memory database unless a test says otherwise: the checkout's own
    # db.sqlite3 (written under the developer's key) must not decide these tests.
    env.update({"KOZMO_IGNORE_DOTENV": "1", "DJANGO_SECRET_KEY": "x" * 50,
                "DATABASE_URL": "sqlite://:memory:"})
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


# --- R17.21: the configured key must open what is stored --------------------------------

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
WRONG_KEY_HINT = "the key the data was written with"
CREATE_SECRET = (
    "from django.contrib.auth.models import User; "
    "from secrets_app.services import create_secret; "
    "admin = User.objects.get_or_create(username='root', is_superuser=True)[0]; "
    "create_secret(admin, name='{name}', key='DB_PASSWORD', value='hunter2')"
)


@pytest.fixture
def database_written_with_key_a(tmp_path):
    """A migrated SQLite database holding one secret, both written under KEY_A."""
    url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    for args in (["manage.py", "migrate", "--noinput", "-v", "0"],
                 ["manage.py", "shell", "-c", CREATE_SECRET.format(name="db")]):
        result = run(args, SECRETS_ENCRYPTION_KEY=KEY_A, DATABASE_URL=url)
        assert result.returncode == 0, result.stderr
    return url, tmp_path / "restored.sqlite3"


def test_R17_21_a_valid_but_wrong_key_stops_manage_py(database_written_with_key_a):
    url, _ = database_written_with_key_a
    result = run(["manage.py", "check"], SECRETS_ENCRYPTION_KEY=KEY_B, DATABASE_URL=url)
    assert result.returncode == 1
    assert "SECRETS_ENCRYPTION_KEY does not open the values stored" in result.stderr
    assert WRONG_KEY_HINT in result.stderr
    assert "Traceback" not in result.stderr
    assert KEY_A not in result.stderr + result.stdout
    assert KEY_B not in result.stderr + result.stdout


def test_R17_21_a_wrong_key_refuses_writes_through_commands(database_written_with_key_a):
    url, path = database_written_with_key_a
    result = run(["manage.py", "shell", "-c", CREATE_SECRET.format(name="new")],
                 SECRETS_ENCRYPTION_KEY=KEY_B, DATABASE_URL=url)
    assert result.returncode == 1
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM secrets_app_secret").fetchone() == (1,)


def test_R17_21_a_wrong_key_stops_the_wsgi_app(database_written_with_key_a):
    url, _ = database_written_with_key_a
    result = run(["-c", "import kozmo_secrets.wsgi"], SECRETS_ENCRYPTION_KEY=KEY_B,
                 DATABASE_URL=url)
    assert result.returncode != 0
    assert "SECRETS_ENCRYPTION_KEY does not open the values stored" in result.stderr


def test_R17_21_during_a_rotation_every_key_must_be_listed(database_written_with_key_a):
    url, _ = database_written_with_key_a
    only_new = run(["manage.py", "check"], SECRETS_ENCRYPTION_KEYS=f"{KEY_B}", DATABASE_URL=url)
    assert only_new.returncode == 1
    assert "SECRETS_ENCRYPTION_KEYS does not open" in only_new.stderr
    both = run(["manage.py", "check"], SECRETS_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}",
               DATABASE_URL=url)
    assert both.returncode == 0, both.stderr
    right = run(["manage.py", "check"], SECRETS_ENCRYPTION_KEY=KEY_A, DATABASE_URL=url)
    assert right.returncode == 0, right.stderr


def test_R17_21_rotation_moves_the_sentinel_so_the_old_key_can_go(database_written_with_key_a):
    url, _ = database_written_with_key_a
    rotated = run(["manage.py", "rotate_encryption_key"],
                  SECRETS_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}", DATABASE_URL=url)
    assert rotated.returncode == 0, rotated.stderr
    assert run(["manage.py", "check"], SECRETS_ENCRYPTION_KEY=KEY_B,
               DATABASE_URL=url).returncode == 0
    old = run(["manage.py", "check"], SECRETS_ENCRYPTION_KEY=KEY_A, DATABASE_URL=url)
    assert old.returncode == 1 and "does not open" in old.stderr


@pytest.mark.parametrize("sentinel_gone", [
    "DELETE FROM secrets_app_keycheck",  # flushed
    "DROP TABLE secrets_app_keycheck",  # a database from before the sentinel's migration
])
def test_R17_21_without_a_sentinel_the_newest_value_decides(database_written_with_key_a,
                                                            sentinel_gone):
    url, path = database_written_with_key_a
    with sqlite3.connect(path) as db:
        db.execute(sentinel_gone)
    result = run(["manage.py", "check"], SECRETS_ENCRYPTION_KEY=KEY_B, DATABASE_URL=url)
    assert result.returncode == 1
    assert "does not open the values stored" in result.stderr


def test_R17_21_a_database_not_migrated_yet_does_not_block_start_up(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    result = run(["manage.py", "check"], SECRETS_ENCRYPTION_KEY=KEY_B, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    migrated = run(["manage.py", "migrate", "--noinput", "-v", "0"],
                   SECRETS_ENCRYPTION_KEY=KEY_B, DATABASE_URL=url)
    assert migrated.returncode == 0, migrated.stderr


def test_R17_21_an_unreachable_database_does_not_block_start_up():
    result = run(["manage.py", "check"], SECRETS_ENCRYPTION_KEY=KEY_B,
                 DATABASE_URL="postgres://postgres@127.0.0.1:1/nothing-listens-here")
    assert result.returncode == 0, result.stderr
