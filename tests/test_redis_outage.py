"""R17.19: a Redis outage does not take the product down.

Redis holds only the decrypt-limit counters and cached list counts. Without it, reads (counts
from the database), writes and imports go on; what needs the shared counters fails closed with
a 503 that names REDIS_URL: decrypts, on every way in. When Redis returns, everything recovers
by itself, and no list count cached before the outage is served after a write made during it.
"""

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from audit_app.models import AuditLog
from secrets_app.models import Secret
from secrets_app.services.secrets import SSHTunnelData, create_secret

pytestmark = pytest.mark.django_db

URL = "/api/v1/secrets/"
HTMX = {"HTTP_HX_REQUEST": "true"}
CANARY = "OUTAGE-CANARY-VALUE"
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"  # port 1: nothing listens, connections are refused


def redis_cache(url: str) -> dict:
    return {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }}


@pytest.fixture
def redis_down(settings):
    """The cache is a Redis that refuses every connection."""
    settings.CACHES = redis_cache(CLOSED_PORT_URL)
    settings.SECRETS_DECRYPT_RATE = "10/m"


@pytest.fixture
def secrets(admin_user):
    return [
        create_secret(admin_user, name="POSTGRES_PASSWORD", key="POSTGRES_PASSWORD",
                      value=CANARY, profile="production"),
        create_secret(admin_user, name="api token", key="API_TOKEN", value="t-1",
                      profile="production"),
        create_secret(admin_user, name="local", key="API_TOKEN", value="t-2",
                      profile="development"),
    ]


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def assert_decrypt_refused_and_audited(response, secret_name):
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    detail = response.json()["detail"]
    assert "REDIS_URL" in detail and detail.startswith("Decrypting is unavailable")
    assert CANARY not in response.content.decode()
    entry = AuditLog.objects.filter(action="DECRYPT").first()  # newest first
    assert (entry.allowed, entry.detail, entry.secret_name) == (
        False, {"reason": "cache unavailable"}, secret_name)


# --- (1) Redis refuses connections ----------------------------------------------------------


class TestReadsWithoutTheCache:
    def test_R17_19_console_list_answers_from_the_database(
        self, redis_down, secrets, admin_client
    ):
        response = admin_client.get("/secrets/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "POSTGRES_PASSWORD" in html and "api token" in html and "local" in html
        rows = admin_client.get("/secrets/?profile=production", **HTMX)
        assert rows.status_code == 200
        assert rows.content.decode().count('data-testid="secret-row"') == 2

    def test_R17_19_api_list_counts_from_the_database(self, redis_down, secrets, admin_api):
        response = admin_api.get(URL)
        assert response.status_code == 200
        assert response.json()["count"] == 3
        response = admin_api.get(URL, {"profile": "production"})
        assert response.status_code == 200
        assert response.json()["count"] == 2
        assert {item["value"] for item in response.json()["results"]} == {"********"}

    def test_R17_19_other_pages_and_endpoints_answer(self, redis_down, secrets, admin_client,
                                                     admin_api):
        for path in ("/audit/", "/catalog/", "/settings/"):
            assert admin_client.get(path).status_code == 200, path
        profiles = admin_api.get(f"{URL}profiles/")
        assert profiles.status_code == 200
        assert {"profile": "production", "count": 2} in profiles.json()
        assert admin_api.get("/api/v1/audit/").status_code == 200
        assert admin_api.get(f"{URL}{secrets[0].pk}/").status_code == 200


class TestWritesWithoutTheCache:
    def test_R17_19_api_create_update_delete(self, redis_down, admin_api):
        created = admin_api.post(URL, {"name": "new", "key": "NEW_KEY", "value": "v1",
                                       "profile": "staging"}, format="json")
        assert created.status_code == 201, created.json()
        pk = created.json()["id"]
        updated = admin_api.patch(f"{URL}{pk}/", {"value": "v2"}, format="json")
        assert updated.status_code == 200, updated.json()
        assert Secret.objects.get(pk=pk).value.reveal() == "v2"
        assert admin_api.get(URL).json()["count"] == 1
        assert admin_api.delete(f"{URL}{pk}/").status_code == 204
        assert admin_api.get(URL).json()["count"] == 0
        assert list(AuditLog.objects.order_by("sequence").values_list("action", flat=True)) == [
            "CREATE", "UPDATE", "DELETE"]

    def test_R17_19_console_create(self, redis_down, admin_client):
        response = admin_client.post("/secrets/new/", {
            "name": "console one", "key": "CONSOLE_KEY", "category": "Custom",
            "value": "c-1", "profile": "default",
        }, **HTMX)
        assert response.status_code == 204
        assert Secret.objects.get().name == "console one"

    def test_R17_19_api_import(self, redis_down, admin_api):
        response = admin_api.generic("POST", f"{URL}import?profile=staging",
                                     b"API_TOKEN: abc\nMYSQL_HOST: db\n",
                                     content_type="application/yaml")
        assert response.status_code == 200, response.json()
        assert response.json()["created"] == 2
        assert admin_api.get(URL).json()["count"] == 2

    def test_R17_19_import_command(self, redis_down, tmp_path):
        path = tmp_path / "io_config.yaml"
        path.write_text("default:\n  API_TOKEN: abc\nstaging:\n  MYSQL_HOST: db\n")
        out, _ = run("import_secrets", str(path))
        assert "2 created" in out
        assert Secret.objects.count() == 2


class TestDecryptsFailClosed:
    def test_R17_19_api_decrypt_is_503_naming_redis_url_and_audited(
        self, redis_down, secrets, admin_api
    ):
        response = admin_api.post(f"{URL}{secrets[0].pk}/decrypt/")
        assert_decrypt_refused_and_audited(response, "POSTGRES_PASSWORD")
        assert response["Retry-After"] == "30"

    def test_R17_19_ssh_tunnel_is_503(self, redis_down, admin_user, admin_api):
        create_secret(admin_user, name="bastion", key="SSH_HOST", value="bastion.example",
                      category="SSH", profile="staging",
                      ssh=SSHTunnelData(host="bastion.example", username="etl",
                                        password=CANARY))
        response = admin_api.post(f"{URL}ssh-tunnel/", {"profile": "staging"}, format="json")
        assert_decrypt_refused_and_audited(response, "SSH tunnel")

    def test_R17_19_a_non_admin_is_still_403(self, redis_down, secrets, member_api):
        response = member_api.post(f"{URL}{secrets[0].pk}/decrypt/")
        assert response.status_code == 403
        assert AuditLog.objects.filter(action="DECRYPT").first().detail == {
            "reason": "not an admin"}

    def test_R17_19_console_reveal_shows_the_message_in_the_row(
        self, redis_down, secrets, admin_client
    ):
        # htmx 2 does not swap a 5xx answer into the page: the message comes as the row's
        # partial, like the rate limit's, so the user reads it where the value would be.
        response = admin_client.post(f"/secrets/{secrets[0].pk}/decrypt/", **HTMX)
        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-testid="reveal-error"' in html
        assert "REDIS_URL" in html and "Decrypting is unavailable" in html
        assert CANARY not in html and 'data-testid="revealed-value"' not in html
        assert f'id="value-{secrets[0].pk}"' in html  # swaps itself back to the mask
        entry = AuditLog.objects.filter(action="DECRYPT").first()
        assert (entry.channel, entry.allowed, entry.detail) == (
            "console", False, {"reason": "cache unavailable"})

    @pytest.mark.parametrize("command", [
        ("export_secrets", "--profile", "production"),
        ("run_with_secrets", "--profile", "production", "--", "true"),
        ("resolve_credential", "POSTGRES_PASSWORD", "--profile", "production", "--reveal"),
    ])
    def test_R17_19_commands_for_a_user_refuse_with_a_message(
        self, redis_down, secrets, command
    ):
        with pytest.raises(CommandError, match="REDIS_URL"):
            run(command[0], "--as", "root", *command[1:])
        entry = AuditLog.objects.filter(action="DECRYPT").get()
        assert (entry.channel, entry.allowed, entry.detail) == (
            "cli", False, {"reason": "cache unavailable"})

    def test_R17_19_a_users_export_is_one_decrypt_of_the_budget(self, secrets, settings):
        """The gate the commands now pass for a user (--as) is the R10.3 one: counted."""
        settings.SECRETS_DECRYPT_RATE = "1/m"
        out, _ = run("export_secrets", "--as", "root", "--profile", "production")
        assert CANARY in out
        with pytest.raises(CommandError, match="SECRETS_DECRYPT_RATE"):
            run("export_secrets", "--as", "root", "--profile", "production")
        refused = AuditLog.objects.filter(action="DECRYPT", allowed=False).get()
        assert (refused.detail, refused.secret_name) == ({"reason": "rate limited"},
                                                         "export_secrets")
        out, _ = run("export_secrets", "--profile", "production")  # the operator: no limit
        assert CANARY in out

    def test_R17_19_the_operator_at_the_command_line_is_not_limited(self, redis_down, secrets):
        out, _ = run("export_secrets", "--profile", "production", "--format", "dotenv")
        assert CANARY in out
        out, _ = run("resolve_credential", "POSTGRES_PASSWORD", "--profile", "production",
                     "--reveal")
        assert out.strip() == CANARY

    def test_R17_19_healthz_says_the_cache_is_unreachable(self, redis_down, client):
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["cache"] == "unreachable"
        assert response.json()["database"] == "ok"


class TestNoHang:
    def test_R17_19_a_black_holed_redis_costs_at_most_the_timeout(
        self, settings, secrets, admin_api
    ):
        """A Redis that accepts connections and never answers (a paused server, a dropped
        route): each cache call gives up after the timeout instead of hanging the worker."""
        with socket.socket() as hole:
            hole.bind(("127.0.0.1", 0))
            hole.listen(16)
            settings.CACHES = redis_cache(f"redis://127.0.0.1:{hole.getsockname()[1]}/0")
            started = time.monotonic()
            response = admin_api.get(URL)
            assert response.status_code == 200
            assert response.json()["count"] == 3
            decrypt = admin_api.post(f"{URL}{secrets[0].pk}/decrypt/")
            assert decrypt.status_code == 503
            assert time.monotonic() - started < 8

    def test_R17_19_settings_give_redis_short_timeouts(self):
        environment = {**os.environ, "REDIS_URL": "redis://127.0.0.1:6379/7",
                       "SECRETS_CACHE_TIMEOUT_SECONDS": "2", "DJANGO_SETTINGS_MODULE":
                       "kozmo_secrets.settings"}
        script = ("from django.conf import settings; "
                  "print(sorted(settings.CACHES['default']['OPTIONS'].items()))")
        shown = subprocess.run(
            [sys.executable, "-c", script], env=environment, capture_output=True, text=True,
            check=True, cwd=Path(__file__).resolve().parents[1],
        ).stdout
        assert "('socket_connect_timeout', 2)" in shown and "('socket_timeout', 2)" in shown


# --- (2) a real Redis that goes down and comes back -----------------------------------------


class RedisServer:
    """Our own redis-server on a free port, never the shared one on 6379."""

    def __init__(self, directory: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path, settings):
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    settings.CACHES = redis_cache(server.url)
    yield server
    server.stop()


@pytest.mark.services
def test_R17_19_redis_goes_down_and_comes_back(own_redis, admin_user, admin_api, admin_client,
                                               client):
    first = create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD", value=CANARY,
                          profile="production")
    create_secret(admin_user, name="api token", key="API_TOKEN", value="t-1",
                  profile="production")

    # Up: counts are cached, decrypts counted.
    assert admin_api.get(URL, {"profile": "production"}).json()["count"] == 2
    assert admin_api.post(f"{URL}{first.pk}/decrypt/").status_code == 200
    keys = own_redis.client().keys("*kozmo:*")
    assert any(b"kozmo:count:" in key for key in keys)
    assert any(b"kozmo:rate:decrypt:" in key for key in keys)
    # What a Redis that keeps its data over an outage (persistence, a network cut) still holds.
    kept = {key: own_redis.client().dump(key) for key in keys}

    own_redis.stop()
    # Down: reads and writes go on, decrypts refuse with a message.
    created = admin_api.post(URL, {"name": "third", "key": "MYSQL_PASSWORD", "value": "m",
                                   "profile": "production"}, format="json")
    assert created.status_code == 201
    assert admin_api.get(URL, {"profile": "production"}).json()["count"] == 3
    assert_decrypt_refused_and_audited(admin_api.post(f"{URL}{first.pk}/decrypt/"),
                                       "warehouse")
    reveal = admin_client.post(f"/secrets/{first.pk}/decrypt/", **HTMX)
    assert reveal.status_code == 200 and "REDIS_URL" in reveal.content.decode()
    health = client.get("/healthz")
    assert (health.status_code, health.json()["cache"]) == (503, "unreachable")

    own_redis.start()  # same port, same settings, same process: no restart of the app
    for key, value in kept.items():
        own_redis.client().restore(key, 0, value, replace=True)

    health = client.get("/healthz")
    assert (health.status_code, health.json()["cache"]) == (200, "ok")
    # The count cached before the outage (2) is still in Redis, under the same version
    # number (the write made during the outage could not bump it): it must not be served.
    assert admin_api.get(URL, {"profile": "production"}).json()["count"] == 3
    assert admin_client.get("/secrets/?profile=production", **HTMX).content.decode().count(
        'data-testid="secret-row"') == 3
    decrypt = admin_api.post(f"{URL}{first.pk}/decrypt/")
    assert decrypt.status_code == 200
    assert decrypt.json()["value"] == CANARY
    assert AuditLog.objects.filter(action="DECRYPT").first().allowed is True
    # The limit counts again in the shared cache: the decrypt after the outage is there.
    assert own_redis.client().keys("*kozmo:rate:decrypt:*")
