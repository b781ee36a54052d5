"""API tokens end to end with a real `Authorization: Token …` header (R14)."""

import base64
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from secrets_app.models import ApiToken
from secrets_app.services import create_secret
from secrets_app.tokens import create_token, digest_of

pytestmark = pytest.mark.django_db

SECRETS = "/api/v1/secrets/"


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def secret(admin_user):
    return create_secret(admin_user, name="n", key="API_TOKEN", value="TOKEN-CANARY")


def test_R14_a_token_works_for_exactly_its_users_rights(admin_user, member, secret):
    _, admin_key = create_token(admin_user, "ci")
    _, member_key = create_token(member, "reader")
    assert client_with(member_key).get(SECRETS).status_code == 200
    assert client_with(member_key).post(f"{SECRETS}{secret.pk}/decrypt/").status_code == 403
    response = client_with(admin_key).post(f"{SECRETS}{secret.pk}/decrypt/")
    assert response.json()["value"] == "TOKEN-CANARY"
    assert AuditLog.objects.filter(action="DECRYPT", username="root", channel="api").exists()


def test_R14_only_a_hash_is_stored_and_last_use_is_noted(admin_user):
    token, key = create_token(admin_user, "ci")
    stored = ApiToken.objects.get(pk=token.pk)
    assert key not in {stored.digest, stored.prefix, stored.name}
    assert stored.digest == digest_of(key) and key.startswith(stored.prefix)
    assert stored.last_used_at is None
    client_with(key).get(SECRETS)
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


@pytest.mark.parametrize("header", ["Token", "Token a b", "Token kzs_unknown", "Token \u00e9"])
def test_bad_tokens_are_401(header, db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.encode("utf-8").decode("latin-1"))
    response = client.get(SECRETS)
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}


def test_R14_an_expired_token_is_401(admin_user):
    token, key = create_token(admin_user, "old", expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client_with(key).get(SECRETS).status_code == 401


def test_R14_a_revoked_token_is_401(admin_user):
    token, key = create_token(admin_user, "gone")
    client = client_with(key)
    assert client.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert client.get(SECRETS).status_code == 401
    assert AuditLog.objects.filter(action="TOKEN_REVOKE").exists()


def test_an_inactive_users_token_is_401(member):
    _, key = create_token(member, "x")
    member.is_active = False
    member.save()
    assert client_with(key).get(SECRETS).status_code == 401


def test_R14_create_with_username_and_password_shows_the_key_once(admin_user):
    client = APIClient()
    basic = base64.b64encode(b"root:root-password").decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {basic}")
    response = client.post("/api/v1/tokens/", {"name": "laptop"}, format="json")
    assert response.status_code == 201, response.json()
    key = response.json()["key"]
    assert response["Cache-Control"] == "no-store"
    assert client_with(key).get(SECRETS).status_code == 200
    listed = client_with(key).get("/api/v1/tokens").json()["results"]
    assert [t["name"] for t in listed] == ["laptop"]
    assert "key" not in listed[0] and listed[0]["prefix"] == key[:12]
    assert listed[0]["expires_at"] is not None  # 90 days by default


def test_basic_auth_only_opens_the_tokens_endpoint(admin_user):
    client = APIClient()
    basic = base64.b64encode(b"root:root-password").decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {basic}")
    assert client.get(SECRETS).status_code == 401


def test_R14_users_see_and_revoke_only_their_own_tokens(admin_user, member):
    create_token(member, "mine")
    theirs, _ = create_token(admin_user, "theirs")
    client = APIClient()
    client.force_authenticate(member)
    assert [t["name"] for t in client.get("/api/v1/tokens/").json()["results"]] == ["mine"]
    assert client.delete(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None


def test_token_input_is_validated(admin_api):
    assert admin_api.post("/api/v1/tokens/", {"name": ""}, format="json").status_code == 400
    response = admin_api.post("/api/v1/tokens/", {"name": "x", "expires_in_days": 0},
                              format="json")
    assert response.status_code == 400 and "expires_in_days" in response.json()
    never = admin_api.post("/api/v1/tokens/", {"name": "x", "expires_in_days": None},
                           format="json")
    assert never.status_code == 201 and never.json()["expires_at"] is None


def test_create_api_token_command_prints_a_working_key(admin_user, capsys):
    call_command("create_api_token", "root", "--name", "etl")
    key = capsys.readouterr().out.strip()
    assert client_with(key).get(SECRETS).status_code == 200


def test_R14_a_token_cannot_mint_a_longer_lived_one(admin_user):
    parent, key = create_token(admin_user, "short", expires_in_days=1)
    client = client_with(key)
    forever = client.post("/api/v1/tokens/", {"name": "forever", "expires_in_days": None},
                          format="json")
    assert forever.status_code == 201
    child = ApiToken.objects.get(name="forever")
    assert child.expires_at == parent.expires_at
