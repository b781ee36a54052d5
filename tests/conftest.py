"""Shared fixtures: the cast of users, fast hashing, Hypothesis profiles, service checks."""

import contextlib
import os
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from audit_app.models import AuditLog
from secrets_app.access.models import ApiToken
from secrets_app.access.permissions import ADMIN_GROUP
from secrets_app.access.tokens import create_token
from secrets_app.services.secrets import create_secret, update_secret

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
# "gw0", "gw1", ... in a worker of `pytest -n N` (pytest-xdist); None in a serial run.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")

hypothesis_settings.register_profile(
    "default",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hypothesis_settings.load_profile("default")


def uses_redis() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def services_available() -> bool:
    return connection.vendor == "postgresql" and uses_redis()


def clear_own_keys(cache) -> None:
    """RedisCache.clear for a worker of `pytest -n N`: delete this cache's keys (its prefix),
    not the whole Redis database, which the other workers are using."""
    client = cache._cache.get_client(write=True)
    prefix = re.sub(r"([*?\[\]\\])", r"\\\1", cache.key_prefix)  # glob-escaped
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def pytest_configure(config):
    # The workers of `pytest -n N` share one Redis database (test databases are per worker
    # already, pytest-django): each worker gets a key prefix of its own, so that one's sign-in
    # and decrypt counters are not the other's, and a cache.clear() (before each test, and in
    # some tests) deletes only its own keys instead of flushing the other's in mid-test.
    if WORKER:
        from django.core.cache.backends.redis import RedisCache
        from django.test.signals import setting_changed

        settings.CACHES["default"]["KEY_PREFIX"] += f"-{WORKER}"
        setting_changed.send(sender=None, setting="CACHES", value=settings.CACHES, enter=True)
        RedisCache.clear = clear_own_keys


def pytest_sessionstart(session):
    """A run starts on an empty Redis database. Under pytest-xdist this runs once, in the
    controller, before the workers start (whose clears are their own keys only)."""
    if WORKER or not uses_redis():
        return
    import redis
    from django.core.cache import cache

    with contextlib.suppress(redis.RedisError):  # then each test says so
        cache.clear()


def pytest_runtest_setup(item):
    if item.get_closest_marker("services") and not services_available():
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but DATABASE_URL/REDIS_URL are not PostgreSQL + Redis.")
        pytest.skip("needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)")


@pytest.fixture(scope="session", autouse=True)
def _services_are_real(django_db_blocker):
    """Under REQUIRE_SERVICES=1 the whole run must be on PostgreSQL + Redis, or it fails."""
    if REQUIRE_SERVICES:
        assert services_available(), "REQUIRE_SERVICES=1 needs PostgreSQL and Redis settings"
        from django.core.cache import cache

        cache.set("kozmo-ci-probe", "ok", 10)
        assert cache.get("kozmo-ci-probe") == "ok", "Redis is not answering"


@pytest.fixture(autouse=True)
def _test_settings(settings):
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests that exercise the decrypt limit set their own rate; the rest are not limited.
    settings.SECRETS_DECRYPT_RATE = "100000/m"
    cache.clear()
    # Production serves collected, hashed files; tests read static/ directly.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def admin_user(db):
    """A superuser: holds every permission."""
    return User.objects.create_superuser("root", "root@example.com", "root-password")


@pytest.fixture
def secrets_admin(db):
    """A plain user in the `Secrets administrators` group."""
    user = User.objects.create_user("alice", "alice@example.com", "alice-password")
    user.groups.add(Group.objects.get(name=ADMIN_GROUP))
    return User.objects.get(pk=user.pk)  # fresh object: no stale permission cache


@pytest.fixture
def member(db):
    """Staff without secrets permissions: may list, may not change or decrypt."""
    return User.objects.create_user("bob", "bob@example.com", "bob-password")


@pytest.fixture
def use_keys(settings):
    """Switch the process to the given encryption keys (first encrypts) for one test, as if
    it had started with them and their key check had passed (R17.21): these tests mix keys
    on purpose, the key check has tests of its own."""
    from secrets_app.crypto import get_encryption_service

    def switch(*keys: str) -> None:
        settings.SECRETS_ENCRYPTION_KEY = None
        settings.SECRETS_ENCRYPTION_KEYS = ",".join(keys)
        get_encryption_service().key_check_passed = True

    return switch


@pytest.fixture(scope="session")
def moto_endpoint():
    """A real AWS API endpoint (moto's server mode) on 127.0.0.1, over real HTTP."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint, settings, monkeypatch):
    """Point the AWS loader at the moto endpoint, empty, and hand back a boto3 client."""
    import urllib.request

    import boto3

    reset = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=10)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    settings.SECRETS_AWS_REGION = "eu-west-1"
    settings.SECRETS_AWS_ENDPOINT_URL = moto_endpoint
    settings.SECRETS_AWS_PREFIX = "kozmo/"
    settings.SECRETS_AWS_CACHE_SECONDS = 60
    return boto3.client(
        "secretsmanager", region_name="eu-west-1", endpoint_url=moto_endpoint
    )


@pytest.fixture
def api():
    """A DRF client; log users in with api.force_authenticate(user)."""
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def admin_api(api, admin_user):
    api.force_authenticate(admin_user)
    return api


@pytest.fixture
def member_api(member):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(member)
    return client


@pytest.fixture
def admin_client(client, admin_user):
    """Django's test client signed in as the superuser (the console)."""
    client.force_login(admin_user)
    return client


@pytest.fixture
def member_client(client, member):
    """Django's test client signed in as the non-admin."""
    client.force_login(member)
    return client


@pytest.fixture
def world(admin_user, member):
    """What the authorization matrix and test_no_store walk the routes with."""
    secret = create_secret(admin_user, name="target", key="SSH_HOST", value="MATRIX-CANARY",
                           ssh=None)
    update_secret(secret, admin_user, value="MATRIX-CANARY-2")
    member_token, _ = create_token(member, "mine")
    expired, expired_key = create_token(admin_user, "old", expires_in_days=1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))
    revoked, revoked_key = create_token(admin_user, "gone")
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    inactive = User.objects.create_superuser("ghost", "", "ghost-password")
    inactive.is_active = False
    inactive.save()
    sequence = AuditLog.objects.order_by("sequence").first().sequence
    return {
        "secret": secret, "member_token": member_token, "expired_key": expired_key,
        "revoked_key": revoked_key, "inactive": inactive, "sequence": sequence,
    }


# --- the browser (tests/browser/ and the review folders' browser tests) -----------------------
# One definition for the whole suite: a second session-scoped Playwright in the same process
# would refuse to start ("Sync API inside the asyncio loop").

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API keeps an event loop in this thread; Django refuses ORM calls from
    # a thread with a running loop unless told that this one is safe (it is: it is ours).
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
