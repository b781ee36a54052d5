"""The console's shared template pieces: numbers from settings (context processor and
forms), the one pager, the one field block (as_field_group) and the page-or-partial rule."""

import re

import pytest
from django.test import override_settings

from audit_app.models import AuditLog
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def secret(admin_user):
    return create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD", value="v")


@override_settings(SECRETS_REVEAL_SECONDS=12)
def test_R2_4_the_decrypt_tooltip_says_the_configured_seconds(admin_client, secret):
    for url in ("/secrets/", f"/secrets/{secret.pk}/masked/"):
        html = admin_client.get(url, **HTMX).content.decode()
        assert "Decrypt (shown for 12 s, audited)" in html
        assert "shown for 30 s" not in html


@override_settings(SECRETS_IMPORT_MAX_BYTES=2_000_000)
def test_R6_5_the_import_dialog_says_the_configured_size_limit(admin_client):
    html = admin_client.get("/secrets/import/", **HTMX).content.decode()
    assert "or a .env file, at most 2 MB." in html
    assert "5 MB" not in html


def test_R4_5_both_pagers_keep_the_filters(admin_client, admin_user):
    for number in range(51):
        create_secret(admin_user, name=f"s{number:02d}", key="AWS_REGION", value="v")
    rows = admin_client.get("/secrets/?search=s&category=AWS", **HTMX).content.decode()
    assert '<nav class="pager" aria-label="Pages">' in rows
    assert 'href="?search=s&amp;category=AWS&amp;page=2"' in rows
    assert 'hx-get="/secrets/?page=2" hx-target="#secret-rows"' in rows
    assert "Page 1 of 2 · 51 secrets" in rows

    assert AuditLog.objects.filter(action="CREATE").count() > 50
    log = admin_client.get("/audit/?action=CREATE", **HTMX).content.decode()
    assert 'href="?action=CREATE&amp;page=2"' in log and "Older →" in log
    assert "hx-get" not in log.split('<nav class="pager"')[1]  # plain links, as before


def test_every_field_names_its_help_and_errors_by_id(admin_client):
    """as_field_group: each id the input's aria-describedby names exists in the dialog."""
    html = admin_client.post("/secrets/new/", {"name": "", "key": "K", "profile": "nope"},
                             **HTMX).content.decode()
    described = re.findall(r'aria-describedby="([^"]+)"', html)
    assert described
    for ids in described:
        for name in ids.split():
            assert f'id="{name}"' in html


@pytest.mark.parametrize("url", ["/secrets/", "/settings/", "/audit/"])
def test_htmx_gets_the_partial_and_history_restore_the_page(admin_client, url):
    assert "<html" in admin_client.get(url).content.decode()
    partial = admin_client.get(url, **HTMX)
    assert "<html" not in partial.content.decode()
    assert "HX-Request" in partial["Vary"]
    restore = admin_client.get(url, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert "<html" in restore.content.decode()
