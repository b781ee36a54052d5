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

from secrets_app.services import create_secret
from secrets_app.tokens import create_token

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn():
    """Two sync workers on the test database and the same Redis."""
    port = _free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "KOZMO_IGNORE_DOTENV": "1",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # An hour-long window: 15 quick requests cannot straddle two windows.
        "SECRETS_DECRYPT_RATE": "10/h",
    }
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


def post(url: str, key: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, method="POST",
                                     headers={"Authorization": f"Token {key}"})
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
