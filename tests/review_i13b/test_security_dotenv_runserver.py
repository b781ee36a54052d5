"""B10 (medium for `make run` installs, the README's way to try the product): under
`manage.py runserver` (what `make run` starts, with Django's autoreloader) the process that
serves requests is a CHILD of the one that loaded `.env`: it inherits the loaded names as if
they were real environment variables, so settings.DOTENV_ONLY_NAMES is empty there, and
child_env.withheld() no longer holds back what only `.env` set. Every name the operator put
in `.env` (a third-party key, PGPASSWORD on SQLite...) is then answered by the environment
source to any reader of `default`. Through the real command in a throwaway copy of the project,
as test_child_environment does. FAILS while open."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from secrets_app.child_env import is_server_configuration

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("reload", [True, False], ids=["autoreload(make run)", "noreload"])
def test_B10_runserver_serves_a_name_only_dotenv_set(tmp_path, reload):
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("kozmo_secrets", "secrets_app", "audit_app", "templates", "static"):
        if (ROOT / package).exists():
            shutil.copytree(ROOT / package, tmp_path / package, ignore=ignore)
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    (tmp_path / ".env").write_text(
        "SECRETS_ENCRYPTION_KEY=dotenv-key-0123456789-0123456789-0123456789\n"
        f"DJANGO_SECRET_KEY={'s' * 50}\n"
        f"DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n"
        "DJANGO_DEBUG=true\nREDIS_URL=\nSECRETS_CONFIG_FILE=\n"
        "ONLY_IN_DOTENV=DOTENV-ONLY-CANARY\n")
    tmp_path.joinpath(".env").chmod(0o600)
    shell = {name: value for name, value in os.environ.items()
             if not is_server_configuration(name) and not name.endswith(("_PROXY", "_proxy"))}
    shell["DJANGO_SETTINGS_MODULE"] = "kozmo_secrets.settings"

    def manage(*args, **kwargs):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=tmp_path, env=shell,
                              capture_output=True, text=True, timeout=300, **kwargs)

    assert manage("migrate", "--noinput").returncode == 0
    made = manage("shell", "-c", (
        "from django.contrib.auth.models import User\n"
        "from secrets_app.access.tokens import create_token\n"
        "admin = User.objects.create_superuser('ops', '', 'ops-password')\n"
        "print(create_token(admin, 'ci')[1])\n"))
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    port = free_port()
    args = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"]
    if not reload:
        args.append("--noreload")
    server = subprocess.Popen(args, cwd=tmp_path, env=shell, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/credentials/?keys=ONLY_IN_DOTENV",
            headers={"Authorization": f"Bearer {key}"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        status, body = None, ""
        for _ in range(120):
            try:
                with opener.open(request, timeout=5) as response:
                    status, body = response.status, response.read().decode()
                break
            except urllib.error.HTTPError as error:
                status, body = error.code, error.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, body
        answer = json.loads(body)
        assert "DOTENV-ONLY-CANARY" not in body, answer
        assert answer["missing"] == ["ONLY_IN_DOTENV"]
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
