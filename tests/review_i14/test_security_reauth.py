"""Outside security review of issue 14 (R21.1 re-authentication). Each test states the
expected behaviour and fails on the reviewed code (main at 338a4a5).

Threat model (docs/security.md): "A session left open at a desk should not reveal production
values to whoever sits down". Every test below starts from such a session: signed in through
the form, its password stamp older than SECRETS_REAUTH_SECONDS, and shows another way to the
production value (or to a destructive act) that the password dialog does not guard."""

import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from secrets_app.access.reauth import SESSION_KEY
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret, update_secret

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PASSWORD = "root-password"
CANARY = "CANARY-production-2"


@pytest.fixture
def prod(admin_user):
    secret = create_secret(admin_user, name="db-production", key="POSTGRES_PASSWORD",
                           value="CANARY-production-1", profile="production")
    update_secret(secret, admin_user, value=CANARY)
    return Secret.objects.get(pk=secret.pk)


@pytest.fixture
def desk(admin_user):
    """A browser left signed in (CSRF enforced, as a real one), its password stamp stale."""
    client = Client(enforce_csrf_checks=True)
    login_page = client.get(reverse("login"))
    token = login_page.cookies["csrftoken"].value
    response = client.post(reverse("login"), {"username": "root", "password": PASSWORD,
                                              "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    session = client.session
    session[SESSION_KEY] = time.time() - 3600
    session.save()
    client.csrf = client.cookies["csrftoken"].value  # what any page's JS can read / send
    return client


def console_decrypt_is_gated(desk, secret):
    response = desk.post(reverse("secrets:decrypt", args=[secret.pk]),
                         HTTP_X_CSRFTOKEN=desk.csrf, **HTMX)
    assert 'data-testid="reauth-form"' in response.text  # the console asks, as designed
    assert CANARY not in response.text


# --- F1 (High): the API accepts the console's session cookie and never asks -------------------
# Steps: in the stale session, POST /api/v1/secrets/<id>/decrypt/ with the session cookie and
# the csrftoken cookie's value in X-CSRFToken (curl, the browser console, or the Swagger UI at
# /api/docs/, which sends both). The plaintext comes back; the password is never asked.
# Fix: the same rule for session-authenticated API calls (call needs_reauth() in the API's
# decrypt/destroy/restore/ssh-tunnel and answer 403 "re-authentication required"), or drop
# SessionAuthentication from the secrets API (tokens only, as CredentialsView already does).


def test_F1_api_decrypt_with_a_stale_console_session_is_not_answered(desk, prod):
    console_decrypt_is_gated(desk, prod)
    response = desk.post(f"/api/v1/secrets/{prod.pk}/decrypt/", "{}",
                         content_type="application/json", HTTP_X_CSRFTOKEN=desk.csrf)
    assert response.status_code != 415
    assert CANARY not in response.content.decode(), (
        "the API revealed a production value to a stale console session without a password")


def test_F1_api_delete_with_a_stale_console_session_is_refused(desk, prod):
    response = desk.delete(f"/api/v1/secrets/{prod.pk}/", HTTP_X_CSRFTOKEN=desk.csrf)
    assert response.status_code != 204
    assert Secret.objects.filter(pk=prod.pk).exists()


def test_F1_api_restore_with_a_stale_console_session_is_refused(desk, prod):
    response = desk.post(f"/api/v1/secrets/{prod.pk}/versions/1/restore/", "{}",
                         content_type="application/json", HTTP_X_CSRFTOKEN=desk.csrf)
    assert response.status_code != 415
    assert response.status_code not in (200, 201)
    assert Secret.objects.get(pk=prod.pk).value.reveal() == CANARY


# --- F2 (High): a stale session mints an API token (no password) and reads with it ------------
# Steps: Settings → API tokens → Create (or POST /api/v1/tokens/ with the session); the key is
# shown at once; POST /api/v1/secrets/<id>/decrypt/ with it. A token that lives 90 days is a
# far better prize than one reveal. Same for an admin's Settings → Service tokens (scope
# production).
# Fix: put the re-authentication gate in front of creating API tokens and service tokens
# (console and session API), whatever the profile: a token reads every protected profile.


def test_F2_a_stale_session_cannot_mint_an_api_token_without_the_password(desk, prod):
    console_decrypt_is_gated(desk, prod)
    response = desk.post(reverse("settings"), {"name": "desk", "expires_in_days": 90,
                                               "csrfmiddlewaretoken": desk.csrf})
    key = response.context.get("new_key") if response.context else None
    if key:
        api = Client()
        revealed = api.post(f"/api/v1/secrets/{prod.pk}/decrypt/", "{}",
                            content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}")
        assert CANARY not in revealed.content.decode(), (
            "a token minted from a stale session (no password asked) reads production")
    assert not key, "an API token was minted from a stale session without the password"


def test_F2_a_stale_session_cannot_mint_an_api_token_through_the_api(desk, prod):
    response = desk.post("/api/v1/tokens/", json.dumps({"name": "desk2"}),
                         content_type="application/json", HTTP_X_CSRFTOKEN=desk.csrf)
    assert response.status_code != 201, "token minted over the session API, no password"


def test_F2_a_stale_admin_session_cannot_make_a_production_service_token(desk, prod):
    response = desk.post(reverse("secrets:service-tokens"), {
        "name": "desk-svc", "profiles": ["production"], "keys": "", "allowed_networks": "",
        "expires_in_days": "", "csrfmiddlewaretoken": desk.csrf})
    key = response.context.get("new_key") if response.context else None
    assert not key, "a production service token was made from a stale session, no password"


# --- F3a (High): Edit moves the secret out of the protected profile, then reveal ------------
# --- F3b (Medium): Edit and Import overwrite a protected value unasked --------------------
# Steps: Edit db-production, Profile → development, Save (no password asked); the eye button
# now reveals the value at once (development is not protected). Edit's value overwrite is the
# same destructive act as restore, yet not gated either: worse, a stale session can point a
# production DB_HOST / webhook URL at its own server, and the programs that fetch it (service
# tokens) send their credentials there. The console import overwrites the same way.
# Fix: gate secret_edit's POST with _reauth_gate when the stored secret's profile (or the
# target profile) is protected.


def test_F3_moving_a_protected_secret_out_of_its_profile_asks_for_the_password(desk, prod):
    console_decrypt_is_gated(desk, prod)
    response = desk.post(reverse("secrets:edit", args=[prod.pk]), {
        "name": prod.name, "key": prod.key, "category": prod.category,
        "profile": "development", "description": "", "value": "",
        "csrfmiddlewaretoken": desk.csrf}, HTTP_X_CSRFTOKEN=desk.csrf, **HTMX)
    moved = Secret.objects.get(pk=prod.pk).profile == "development"
    if moved:
        revealed = desk.post(reverse("secrets:decrypt", args=[prod.pk]),
                             HTTP_X_CSRFTOKEN=desk.csrf, **HTMX)
        assert CANARY not in revealed.text, (
            "moved out of production without a password, then revealed without one")
    assert not moved, f"edit moved the secret out of production unasked ({response.status_code})"


def test_F3_overwriting_a_protected_value_asks_for_the_password(desk, prod):
    response = desk.post(reverse("secrets:edit", args=[prod.pk]), {
        "name": prod.name, "key": prod.key, "category": prod.category,
        "profile": "production", "description": "", "value": "attacker-chosen",
        "csrfmiddlewaretoken": desk.csrf}, HTTP_X_CSRFTOKEN=desk.csrf, **HTMX)
    assert Secret.objects.get(pk=prod.pk).value.reveal() == CANARY, (
        f"a stale session overwrote a production value unasked ({response.status_code})")


def test_F3_an_import_overwriting_a_protected_value_asks_for_the_password(desk, admin_user):
    from django.core.files.uploadedfile import SimpleUploadedFile
    secret = create_secret(admin_user, name="API_KEY", key="API_KEY", value=CANARY,
                           profile="production")
    console_decrypt_is_gated(desk, secret)
    upload = SimpleUploadedFile("x.env", b"API_KEY=attacker-chosen\n")
    response = desk.post(reverse("secrets:import"), {
        "file": upload, "profile": "production", "templates": "fail",
        "csrfmiddlewaretoken": desk.csrf}, HTTP_X_CSRFTOKEN=desk.csrf, **HTMX)
    assert Secret.objects.get(pk=secret.pk).value.reveal() == CANARY, (
        f"a stale session's import overwrote a production value unasked ({response.status_code})")
