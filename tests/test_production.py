"""Production headers and the health endpoint (issue 6 groundwork; R17.15, R17.21)."""

import io
import os

import pytest
from django.db import DatabaseError

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_cache_without_auth(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("status", "database", "cache", "keys")} == {
        "status": "ok", "database": "ok", "cache": "ok", "keys": "ok"}
    assert body["cache_scope"] in ("shared", "per-process")
    assert "no-cache" in response["Cache-Control"]


@pytest.fixture
def sentinel():
    """The key-check row as the migration writes it, under the test key (a transactional
    test elsewhere may have flushed the one the test database was migrated with)."""
    from secrets_app.keycheck import SENTINEL_TEXT
    from secrets_app.models import KeyCheck

    KeyCheck.objects.all().delete()
    return KeyCheck.objects.create(value=SENTINEL_TEXT)


def test_R17_21_healthz_is_503_when_the_key_does_not_open_the_stored_data(
        client, sentinel, use_keys):
    from cryptography.fernet import Fernet

    assert client.get("/healthz").json()["keys"] == "ok"
    use_keys(Fernet.generate_key().decode())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["keys"] == "wrong key"
    assert response.json()["status"] == "unavailable"


def test_R17_21_healthz_checks_the_newest_value_when_there_is_no_sentinel(
        client, admin_user, use_keys):
    from cryptography.fernet import Fernet

    from secrets_app.models import KeyCheck
    from secrets_app.services.secrets import create_secret

    KeyCheck.objects.all().delete()
    assert client.get("/healthz").json()["keys"] == "ok"  # nothing stored: nothing to contradict
    create_secret(admin_user, name="db", key="DB_PASSWORD", value="hunter2")
    assert client.get("/healthz").status_code == 200
    use_keys(Fernet.generate_key().decode())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["keys"] == "wrong key"


def test_R17_21_a_rotation_keeps_the_key_check_passing(sentinel, admin_user, use_keys):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from secrets_app.keycheck import OK, WRONG_KEY, key_status

    old = os.environ["SECRETS_ENCRYPTION_KEY"]
    new = Fernet.generate_key().decode()
    use_keys(new, old)
    call_command("rotate_encryption_key", stdout=io.StringIO())
    use_keys(new)
    assert key_status() == OK
    use_keys(old)
    assert key_status() == WRONG_KEY


def test_R17_15_healthz_says_when_the_cache_counts_per_process(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    response = client.get("/healthz")
    assert response.status_code == 200  # information, not a failure
    assert response.json()["cache_scope"] == "per-process"


@pytest.mark.services
def test_R17_15_healthz_says_the_redis_cache_is_shared(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["cache_scope"] == "shared"


def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert "refused" not in response.content.decode()  # no detail to strangers


def test_healthz_is_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/secrets/").status_code == 301


def test_pages_carry_a_csp_without_inline_scripts(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/secrets/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    html = response.content.decode()
    assert "<script>" not in html and " onclick=" not in html and " style=" not in html


@pytest.mark.services
def test_search_on_postgresql_can_use_the_trigram_index(admin_user):
    from django.db import connection

    from secrets_app.filters import SecretFilter
    from secrets_app.models import Secret

    queryset = SecretFilter({"search": "ware"}, queryset=Secret.objects.order_by()).qs
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # On a tiny test table any plan is cheap; forbid the table and b-tree scans to see
        # whether the trigram indexes can answer the search on their own.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "secret_name_trgm" in plan and "secret_key_trgm" in plan, plan
