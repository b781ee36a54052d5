"""The operator's view: real `manage.py` processes against a database file, as a user runs
them (R11 rotation with the old key removed, R12 verify exit status, first admin login)."""

import http.cookiejar
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from tests.helpers import KEY_A, KEY_B, ROOT, Project


@pytest.fixture
def project(tmp_path):
    project = Project(tmp_path)
    project.manage("migrate", "--noinput")
    return project


CREATE_SECRETS = """
from django.contrib.auth.models import User
from secrets_app.services.secrets import create_secret, update_secret, SSHTunnelData
admin = User.objects.create_superuser("ops", "", "ops-password")
for n in range(30):
    create_secret(admin, name=f"S{n}", key="K", value=f"value-{n}")
secret = create_secret(admin, name="rotated", key="K", value="first")
update_secret(secret, admin, value="second")
create_secret(admin, name="tunnel", key="SSH_HOST", value="",
              ssh=SSHTunnelData(host="h", username="u", password="pw", private_key="pk"))
"""

READ_EVERYTHING = """
from secrets_app.models import Secret, SecretVersion, SSHTunnel
print(sorted(s.value.reveal() for s in Secret.objects.all()))
print(sorted(v.value.reveal() for v in SecretVersion.objects.all()))
t = SSHTunnel.objects.get()
print(t.password.reveal(), t.private_key.reveal())
"""


def test_R11_rotate_then_remove_the_old_key(project):
    project.shell(CREATE_SECRETS)
    before = project.shell(READ_EVERYTHING)

    first = project.manage(
        "rotate_encryption_key", "--batch-size", "10",
        SECRETS_ENCRYPTION_KEY=None, SECRETS_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}",
    )
    assert "secrets: 10/32 checked" in first.stdout
    assert "Rotation complete: 66 row(s)" in first.stdout  # 32 secrets, 33 versions, 1 tunnel
    again = project.manage(
        "rotate_encryption_key", SECRETS_ENCRYPTION_KEY=None,
        SECRETS_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}",
    )
    assert "Rotation complete: 0 row(s)" in again.stdout

    after = project.shell(READ_EVERYTHING, SECRETS_ENCRYPTION_KEY=KEY_B)
    assert after == before
    assert "value-29" in after and "'first'" in after and "pw pk" in after
    # And the old key alone no longer opens anything.
    failing = project.manage("shell", "-c", READ_EVERYTHING, check=False)
    assert failing.returncode != 0
    project.manage("verify_audit_log", SECRETS_ENCRYPTION_KEY=KEY_B)


def test_R12_verify_audit_log_names_the_altered_row_and_exits_non_zero(project):
    project.shell(CREATE_SECRETS)
    ok = project.manage("verify_audit_log")
    assert "Audit log intact: 33 entries verified." in ok.stdout

    with sqlite3.connect(project.db) as connection:
        connection.execute(
            "UPDATE audit_app_auditlog SET secret_name = 'innocent' WHERE sequence = 7"
        )
    broken = project.manage("verify_audit_log", check=False)
    assert broken.returncode == 1
    assert "Entry #7" in broken.stderr
    assert "altered" in broken.stderr


FIXTURE = ROOT / "tests" / "fixtures" / "io_config.yaml"


def test_R6_import_secrets_of_the_io_config_fixture_twice(project):
    """What the README shows: a summary counting every case, then zero created."""
    env = {"ETL_FIXTURE_PG_USER": "etl_user"}
    first = project.manage("import_secrets", str(FIXTURE), check=False, **env)
    assert first.returncode == 1  # three entries failed, on purpose
    assert "12 created, 0 updated, 0 unchanged, 2 skipped, 3 failed" in first.stdout
    assert "3 entries failed" in first.stderr
    second = project.manage("import_secrets", str(FIXTURE), check=False, **env)
    assert "0 created, 0 updated, 12 unchanged, 2 skipped, 3 failed" in second.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_printed_admin_credentials_open_the_console(project):
    """What `make run` does: bootstrap_admin prints a password once; it logs in."""
    printed = project.manage("bootstrap_admin").stdout
    match = re.search(r"username: (\S+)\s+password: (\S+)", printed)
    assert match, printed
    username, password = match.groups()
    assert "no admin created" in project.manage("bootstrap_admin").stdout

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT, env=project.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        deadline = time.monotonic() + 30
        while True:
            try:
                page = opener.open(f"{base}/", timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert "Sign in" in page  # / sends an anonymous visitor to the login page
        csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": csrf}
        ).encode()
        response = opener.open(f"{base}/accounts/login/", data=form, timeout=10)
        assert response.url.endswith("/secrets/")
        assert "No secrets yet" in response.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=10)
