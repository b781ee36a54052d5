"""R10.3 across processes: two gunicorn workers sharing Redis hold one decrypt limit."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from secrets_app.access.tokens import create_token
from secrets_app.services.secrets import create_secret

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(request, tmp_path):
    """Two sync workers on the test database and the same Redis, static files collected for
    whitenoise as `make serve` does. The decrypt rate can be given with indirect
    parametrization."""
    port = _free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "KOZMO_IGNORE_DOTENV": "1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        # The same installation as this test process (whose prefix came from the database
        # name before pytest-django renamed it to the test database).
        "SECRETS_CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "SECRETS_DECRYPT_RATE": getattr(request, "param", "10/h"),
    }
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
                   cwd=ROOT, env=env, check=True, timeout=120)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "kozmo_secrets.wsgi", "--workers", "2",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/v1/secrets/", timeout=2)
        except urllib.error.HTTPError:
            break  # 401: it is up
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(process.stderr.read().decode()) from None
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=20)


def post(url: str, key: str, body: dict | None = None, method: str = "POST"):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, method=method, data=data, headers={
        "Authorization": f"Token {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def test_R10_3_fifteen_decrypts_through_two_workers_exactly_ten_succeed(gunicorn, admin_user):
    secret = create_secret(admin_user, name="shared", key="API_TOKEN", value="MP-CANARY")
    _, key = create_token(admin_user, "load")
    url = f"{gunicorn}/api/v1/secrets/{secret.pk}/decrypt/"
    # All at once, so both workers are busy and the count is contended across processes.
    with ThreadPoolExecutor(max_workers=15) as pool:
        answers = list(pool.map(lambda _: post(url, key), range(15)))
    codes = [code for code, _, _ in answers]
    assert codes.count(200) == 10, codes
    assert codes.count(429) == 5, codes
    refused = next(answer for answer in answers if answer[0] == 429)
    assert refused[1] == {"detail": "Rate limit exceeded. Try again later."}
    assert int(refused[2]["Retry-After"]) > 0


@pytest.mark.parametrize("gunicorn", ["100000/m"], indirect=True)
def test_creates_lists_and_decrypts_from_many_clients_never_5xx(gunicorn, admin_user):
    """Issue 6: several client threads against two workers on PostgreSQL + Redis."""
    _, key = create_token(admin_user, "load")
    api = f"{gunicorn}/api/v1/secrets/"

    def client(number):
        codes = []
        for step in range(5):
            code, body, _ = post(api, key, {"name": f"c{number}-{step}", "key": "API_TOKEN",
                                            "value": f"v-{number}-{step}"})
            codes.append(code)
            if code == 201:
                code, answer, _ = post(f"{api}{body['id']}/decrypt/", key)
                codes.append(code)
                assert answer.get("value") == f"v-{number}-{step}"
            codes.append(post(f"{api}?search=c{number}-", key, method="GET")[0])
        return codes

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = [code for result in pool.map(client, range(8)) for code in result]
    assert not [code for code in codes if code >= 500], codes
    assert codes.count(201) == 40 and set(codes) <= {200, 201}


def test_whitenoise_serves_the_collected_static_files(gunicorn, admin_user):
    """Production serves CSS and JS itself (hashed names, long cache), with the headers."""
    with urllib.request.urlopen(f"{gunicorn}/accounts/login/", timeout=10) as response:
        page = response.read().decode()
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
    css = page.split('rel="stylesheet" href="')[1].split('"')[0]
    assert css.startswith("/static/css/app.") and css.endswith(".css")  # hashed name
    with urllib.request.urlopen(f"{gunicorn}{css}", timeout=10) as response:
        assert response.status == 200
        assert "max-age=315360000" in response.headers["Cache-Control"]
    with urllib.request.urlopen(f"{gunicorn}/healthz", timeout=10) as response:
        assert json.loads(response.read()) == {"status": "ok", "database": "ok",
                                               "cache": "ok", "keys": "ok",
                                               "cache_scope": "shared"}


def test_twenty_racing_creates_over_http_give_one_201_and_nineteen_400(gunicorn, admin_user):
    """Issue 7: the same name in the same profile from 20 clients at once, through two
    worker processes on PostgreSQL: exactly one 201, the rest 400 with the reason."""
    _, key = create_token(admin_user, "race")
    body = {"name": "raced-over-http", "key": "API_TOKEN", "value": "v", "profile": "staging"}
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: post(f"{gunicorn}/api/v1/secrets/", key, body),
                                range(20)))
    codes = sorted(code for code, _, _ in answers)
    assert codes == [201] + [400] * 19, codes
    refusals = [answer for code, answer, _ in answers if code == 400]
    assert all(r["detail"] == "Secret with this name already exists" for r in refusals)
