"""R10.6: a missing, short or malformed key stops manage.py and the WSGI app at start-up.
R17.21: so does a valid key that does not open the data stored in the database."""

import json
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
    "from secrets_app.services.secrets import create_secret; "
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


# --- R17.21: a process that started while the database was down still checks the key ------

LATER = r'''
import json, os, shutil, sys

import kozmo_secrets.wsgi  # start-up: the database cannot be opened yet, the key not checked
from secrets_app.crypto import get_encryption_service

restored, target, import_file_path = sys.argv[1:4]
out = {"checked_at_start_up": get_encryption_service().key_check_passed}
os.makedirs(os.path.dirname(target))
shutil.copy(restored, target)  # the database is back: written under another key

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

override_settings(STORAGES={**settings.STORAGES, "staticfiles": {  # no collectstatic here
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()

from secrets_app.services.bulk import import_file
from secrets_app.keycheck import WrongEncryptionKey
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret
from secrets_app.services.reveal import decrypt_secret

admin = User.objects.get(username="root")
stored = Secret.objects.get(name="DB_PASSWORD")
client = Client()
client.force_login(admin)

def answer(response):
    body = response.json() if response["Content-Type"].startswith("application/json") else None
    return [response.status_code, body, response.get("X-Error-Message")]

out["healthz"] = client.get("/healthz").json()["keys"]
out["api_create"] = answer(client.post(
    "/api/v1/secrets/", {"name": "new", "key": "API_TOKEN", "value": "v"},
    content_type="application/json"))
out["api_import"] = answer(client.post(
    "/api/v1/secrets/import/", b"default:\n  DB_PASSWORD: overwritten\n  NEW_KEY: v\n",
    content_type="application/yaml"))
out["api_decrypt"] = answer(client.post(f"/api/v1/secrets/{stored.pk}/decrypt/"))
out["console_create"] = answer(client.post(
    "/secrets/new/", {"name": "new", "key": "API_TOKEN", "value": "v", "category": "",
                      "profile": "default"}, HTTP_HX_REQUEST="true"))
calls = {
    "service_create": lambda: create_secret(admin, name="new", key="API_TOKEN", value="v"),
    "service_import": lambda: import_file(b"default:\n  DB_PASSWORD: overwritten\n",
                                          user=admin),
    "service_decrypt": lambda: decrypt_secret(stored, admin),
}
for name, call in calls.items():
    try:
        call()
        out[name] = "done"
    except WrongEncryptionKey as error:
        out[name] = str(error)
try:
    call_command("import_secrets", import_file_path)
    out["command_import"] = "done"
except CommandError as error:
    out["command_import"] = str(error)
print(json.dumps(out))
'''


def table_rows(path) -> dict:
    with sqlite3.connect(path) as db:
        return {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall())
                for table in ("secrets_app_secret", "secrets_app_secretversion")}


def test_R17_21_a_wrong_key_is_refused_when_the_database_was_down_at_start_up(
        database_written_with_key_a, tmp_path):
    """The review's case: gunicorn starts with a fresh (wrong) key while the database cannot
    be reached, so start-up says "not checked"; when the database comes back, the first
    encrypt or decrypt runs the key check: the API (create, import, decrypt), the console,
    the services and the commands are refused with a message naming SECRETS_ENCRYPTION_KEY,
    and nothing is written."""
    url, restored = database_written_with_key_a
    second = run(["manage.py", "shell", "-c", CREATE_SECRET.format(name="DB_PASSWORD")],
                 SECRETS_ENCRYPTION_KEY=KEY_A, DATABASE_URL=url)
    assert second.returncode == 0, second.stderr
    before = table_rows(restored)
    target = tmp_path / "not-mounted-yet" / "db.sqlite3"
    import_path = tmp_path / "import.yaml"
    import_path.write_text("default:\n  DB_PASSWORD: overwritten\n")

    result = run(["-c", LATER, str(restored), str(target), str(import_path)],
                 SECRETS_ENCRYPTION_KEY=KEY_B, DATABASE_URL=f"sqlite:///{target}")

    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["checked_at_start_up"] is False
    assert out["healthz"] == "wrong key"
    for name in ("api_create", "api_import", "api_decrypt"):
        status, body, _ = out[name]
        assert status == 503, (name, out[name])
        assert "SECRETS_ENCRYPTION_KEY does not open the values stored" in body["detail"]
    status, _, toast = out["console_create"]
    assert status == 503
    assert toast.startswith("SECRETS_ENCRYPTION_KEY does not open the values stored")
    for name in ("service_create", "service_import", "service_decrypt", "command_import"):
        assert out[name].startswith("SECRETS_ENCRYPTION_KEY does not open"), (name, out[name])
        assert WRONG_KEY_HINT in out[name]
    assert table_rows(target) == before  # nothing created, nothing overwritten
    assert KEY_A not in result.stdout + result.stderr
    assert KEY_B not in result.stdout + result.stderr


@pytest.fixture
def fresh_process_key(settings):
    """The installation's service as a new process builds it: its key check has not run."""
    from secrets_app.crypto import get_encryption_service

    settings.SECRETS_ENCRYPTION_KEYS = None
    settings.SECRETS_ENCRYPTION_KEY = KEY_B
    service = get_encryption_service()
    assert not service.key_check_passed
    return service


@pytest.mark.django_db
def test_R17_21_the_key_check_runs_until_it_passes_then_is_a_boolean(
        fresh_process_key, admin_user, django_assert_num_queries):
    from secrets_app.models import KeyCheck
    from secrets_app.services.secrets import create_secret

    KeyCheck.objects.all().delete()  # no sentinel and no secrets: nothing to contradict
    create_secret(admin_user, name="first", key="API_TOKEN", value="v")
    assert not fresh_process_key.key_check_passed  # nothing was stored to check against
    assert fresh_process_key.decrypt(fresh_process_key.encrypt("x")) == "x"
    assert fresh_process_key.key_check_passed  # the stored value opened
    with django_assert_num_queries(0):
        fresh_process_key.decrypt(fresh_process_key.encrypt("y"))


@pytest.mark.django_db
def test_R17_21_nothing_is_sealed_while_the_database_cannot_be_asked(
        fresh_process_key, monkeypatch):
    from django.db import OperationalError, connection

    from secrets_app.fields import Sealed
    from secrets_app.keycheck import KeyCheckUnavailable

    def unreachable():
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(connection.introspection, "table_names", unreachable)
    with pytest.raises(KeyCheckUnavailable, match=r"SECRETS_ENCRYPTION_KEY\(S\)"):
        Sealed.encrypt("v")
    assert not fresh_process_key.key_check_passed
