"""Production headers and the health endpoint (issue 6 groundwork)."""

import pytest
from django.db import DatabaseError

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_cache_without_auth(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert "no-cache" in response["Cache-Control"]


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
