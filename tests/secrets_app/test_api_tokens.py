"""API tokens end to end with a real `Authorization: Token …` header (R14), cut off by a
password change or a deactivation and short-lived when minted with a password (R17.7)."""

import base64
import io
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from secrets_app.access.models import ApiToken
from secrets_app.access.tokens import create_token, digest_of, revoke_token
from secrets_app.services.secrets import create_secret

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


# --- R17.7: a password change or a deactivation cuts every token off -------------------------

NEW_PASSWORD = "a-Brand-new-passphrase-2026"


class FastPBKDF2Hasher(PBKDF2PasswordHasher):
    """PBKDF2 at a test-friendly work factor, to make Django re-hash on sign-in."""

    iterations = 1000


class FasterPBKDF2Hasher(PBKDF2PasswordHasher):
    iterations = 1001


@pytest.fixture
def bob_tokens(member):
    """Two live tokens of bob's and one he revoked himself."""
    _, first_key = create_token(member, "laptop")
    _, second_key = create_token(member, "ci", expires_in_days=None)
    gone, _ = create_token(member, "old")
    revoke_token(gone, member)
    return [first_key, second_key]


def new_revocations():
    """TOKEN_REVOKE rows that give a reason: the automatic ones, not bob's own."""
    return [row for row in AuditLog.objects.filter(action="TOKEN_REVOKE").order_by("sequence")
            if "reason" in row.detail]


def assert_cut_off(keys, reason):
    for key in keys:
        assert client_with(key).get(SECRETS).status_code == 401
    rows = new_revocations()
    assert sorted(row.detail["name"] for row in rows) == ["ci", "laptop"]
    assert {row.detail["reason"] for row in rows} == {reason}
    assert {row.detail["owner"] for row in rows} == {"bob"}
    assert not ApiToken.objects.filter(user__username="bob", revoked_at__isnull=True).exists()


def assert_still_usable(keys):
    for key in keys:
        assert client_with(key).get(SECRETS).status_code == 200
    assert new_revocations() == []


def test_R17_7_set_password_and_save_revokes_every_token(member, bob_tokens):
    member.set_password(NEW_PASSWORD)
    member.save()
    assert_cut_off(bob_tokens, "password changed")


def test_R17_7_set_password_saved_with_update_fields_revokes_too(member, bob_tokens):
    member.set_password(NEW_PASSWORD)
    member.save(update_fields=["password"])
    assert_cut_off(bob_tokens, "password changed")


def test_R17_7_changepassword_command_revokes(member, bob_tokens, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", "bob", stdout=io.StringIO())
    assert_cut_off(bob_tokens, "password changed")


def test_R17_7_changing_a_password_in_the_django_admin_revokes(admin_client, member,
                                                               bob_tokens):
    response = admin_client.post(
        f"/admin/auth/user/{member.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert_cut_off(bob_tokens, "password changed")
    row = new_revocations()[0]
    assert (row.username, row.channel) == ("root", "admin")  # who did it, from where


def test_R17_7_disabling_the_password_in_the_django_admin_revokes(admin_client, member,
                                                                  bob_tokens):
    response = admin_client.post(f"/admin/auth/user/{member.pk}/password/",
                                 {"usable_password": "false", "unset-password": "1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert_cut_off(bob_tokens, "password changed")


def test_R17_7_set_unusable_password_revokes(member, bob_tokens):
    member.set_unusable_password()
    member.save()
    assert_cut_off(bob_tokens, "password changed")


def test_R17_7_deactivating_revokes_and_reactivating_brings_none_back(member, bob_tokens):
    member.is_active = False
    member.save()
    assert_cut_off(bob_tokens, "user deactivated")
    member.is_active = True
    member.save()
    for key in bob_tokens:
        assert client_with(key).get(SECRETS).status_code == 401
    assert len(new_revocations()) == 2  # no second round


def test_R17_7_deactivating_in_the_django_admin_revokes(admin_client, member, bob_tokens):
    page = admin_client.get(f"/admin/auth/user/{member.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items()
            if value is not None and name not in ("password", "groups", "user_permissions",
                                                  "last_login", "date_joined")}
    data.update(is_active="", date_joined_0=member.date_joined.strftime("%Y-%m-%d"),
                date_joined_1=member.date_joined.strftime("%H:%M:%S"))
    data = {name: value for name, value in data.items() if value is not False}
    response = admin_client.post(f"/admin/auth/user/{member.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    member.refresh_from_db()
    assert member.is_active is False
    assert_cut_off(bob_tokens, "user deactivated")


def test_R17_7_other_changes_to_the_user_keep_the_tokens(member, bob_tokens):
    member.email = "bob@new.example.com"
    member.first_name = "Bob"
    member.save()
    member.save(update_fields=["last_login"])
    assert_still_usable(bob_tokens)


@pytest.mark.parametrize("path", ["console", "basic"])
@pytest.mark.parametrize("hashers", [
    # a new preferred algorithm, then a higher work factor for the same algorithm
    (["tests.secrets_app.test_api_tokens.FastPBKDF2Hasher",
      "django.contrib.auth.hashers.MD5PasswordHasher"], "pbkdf2_sha256$1000$"),
    (["tests.secrets_app.test_api_tokens.FasterPBKDF2Hasher",
      "tests.secrets_app.test_api_tokens.FastPBKDF2Hasher"], "pbkdf2_sha256$1001$"),
], ids=["new-algorithm", "more-iterations"])
def test_R17_7_rehashing_on_sign_in_is_not_a_password_change(member, settings, path,
                                                             hashers):
    """Django re-hashes the password on sign-in when the preferred hasher changed; that,
    and the last_login update, must not cut the user's tokens off."""
    preferred, stored_prefix = hashers
    if "1001" in stored_prefix:  # start from a FastPBKDF2 hash
        settings.PASSWORD_HASHERS = preferred[1:]
        member.set_password("bob-password")
        member.save()
    keys = [create_token(member, name)[1] for name in ("laptop", "ci")]
    settings.PASSWORD_HASHERS = preferred
    before = User.objects.get(pk=member.pk).password
    if path == "console":
        response = Client().post("/accounts/login/",
                                 {"username": "bob", "password": "bob-password"})
        assert response.status_code == 302
    else:
        basic = base64.b64encode(b"bob:bob-password").decode()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Basic {basic}")
        assert client.post("/api/v1/tokens/", {"name": "more"}, format="json").status_code == 201
    after = User.objects.get(pk=member.pk)
    assert after.password != before and after.password.startswith(stored_prefix)
    if path == "console":
        assert after.last_login is not None
    assert_still_usable(keys)


# --- R17.7: a token minted with a password alone lives at most 90 days ----------------------


def basic_client(username=b"root", password=b"root-password") -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Basic {base64.b64encode(username + b':' + password).decode()}")
    return client


@pytest.mark.parametrize("asked, days", [
    ({}, 90), ({"expires_in_days": None}, 90), ({"expires_in_days": 365}, 90),
    ({"expires_in_days": 3650}, 90), ({"expires_in_days": 30}, 30),
])
def test_R17_7_a_token_minted_with_a_password_expires_within_90_days(admin_user, asked, days):
    response = basic_client().post("/api/v1/tokens/", {"name": "laptop", **asked},
                                   format="json")
    assert response.status_code == 201, response.json()
    answered = parse_datetime(response.json()["expires_at"])
    stored = ApiToken.objects.get(name="laptop").expires_at
    assert answered == stored
    expected = timezone.now() + timedelta(days=days)
    assert abs((stored - expected).total_seconds()) < 60


def test_R17_7_a_session_or_a_token_may_still_mint_a_longer_lived_token(admin_api):
    response = admin_api.post("/api/v1/tokens/", {"name": "ci", "expires_in_days": 365},
                              format="json")
    assert response.status_code == 201
    assert ApiToken.objects.get(name="ci").expires_at > timezone.now() + timedelta(days=300)


def test_R17_7_the_endpoint_documents_the_90_day_cap(admin_api):
    response = admin_api.get("/api/schema/?format=json")
    assert response.status_code == 200
    create = response.json()["paths"]["/api/v1/tokens/"]["post"]
    assert "at most 90 days" in create["description"]
