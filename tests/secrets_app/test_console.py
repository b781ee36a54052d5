"""The console so far: login, the masked secrets table, the dock (R4.1, R4.2, R9)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert b"Sign in" in response.content


def test_login_page_loads_nothing_from_other_hosts(client):
    html = client.get("/accounts/login/").content.decode()
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert '<script src="/static/django_htmx/htmx-2.min.js"' in html  # htmx served locally


def test_R9_secrets_dock_item_is_active_with_its_tooltip(client, member):
    client.force_login(member)
    html = client.get("/secrets/").content.decode()
    item = re.search(r'<a class="dock-item active"[^>]*>', html).group(0)
    assert 'href="/secrets/"' in item
    assert 'title="Secrets"' in item
    labels = re.findall(r'class="dock-label">(\w+)<', html)
    assert labels == ["Catalog", "Secrets", "Settings"]


def test_R4_1_R1_3_values_are_masked_and_plaintext_never_rendered(client, admin_user, member):
    create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD", value="PLAIN-CANARY")
    client.force_login(member)
    html = client.get("/secrets/").content.decode()
    assert "warehouse" in html and "POSTGRES_PASSWORD" in html
    assert "********" in html
    assert "PLAIN-CANARY" not in html
    assert "gAAAAA" not in html  # nor the ciphertext


def _count_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/secrets/").status_code == 200
    return len(queries)


def test_list_queries_do_not_grow_with_the_table(client, admin_user):
    client.force_login(admin_user)
    for number in range(3):
        create_secret(admin_user, name=f"a{number}", key="K", value="v")
    few = _count_queries(client)
    for number in range(80):
        create_secret(admin_user, name=f"b{number}", key="K", value="v")
    assert _count_queries(client) == few


def test_referrer_policy_keeps_same_origin_posts_working(client):
    """`no-referrer` makes browsers send `Origin: null`, which fails CSRF on every POST."""
    response = client.get("/accounts/login/")
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_login_with_a_browser_origin_header_succeeds(client, admin_user):
    csrf_client = client.__class__(enforce_csrf_checks=True)
    csrf_client.get("/accounts/login/")
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(
        "/accounts/login/",
        {"username": "root", "password": "root-password", "csrfmiddlewaretoken": token},
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
