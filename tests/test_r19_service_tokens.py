"""Service tokens (R19) over the API, in Django admin and at start-up: admins make and revoke
them, audited; a token lists and decrypts within its scope, from its networks, within its
own budget, and reaches nothing else."""

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.models import ApiToken, ProfileGrant, ServiceToken
from secrets_app.access.service_tokens import create_service_token
from secrets_app.access.tokens import create_token, digest_of
from secrets_app.models import Secret, SecretVersion
from secrets_app.services.secrets import create_secret
from tests.helpers import ROOT

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/service-tokens/"
SECRETS = "/api/v1/secrets/"
REFUSED = {"detail": "Admin privileges required"}
ANSWER_FIELDS = {"id", "key", "name", "prefix", "profiles", "keys", "allowed_networks",
                 "created_by", "created_at", "expires_at", "last_used_at", "revoked_at"}
ADMIN_LIST = "/admin/secrets_app/servicetoken/"


def with_key(key: str, scheme: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    return client


@pytest.fixture
def stored(admin_user):
    """POSTGRES_PASSWORD and API_KEY in production and development."""
    return {
        (profile, key): create_secret(admin_user, name=f"{profile} {key}", key=key,
                                      value=f"{profile}-{key}-VALUE", profile=profile)
        for profile in ("production", "development")
        for key in ("POSTGRES_PASSWORD", "API_KEY")
    }


@pytest.fixture
def etl(admin_user):
    """A token for production's POSTGRES_* keys, and its key."""
    return create_service_token(admin_user, name="etl", profiles=["production"],
                                keys=["POSTGRES_*"])


# --- managing service tokens --------------------------------------------------------------


def test_R19_an_admin_creates_a_token_and_sees_its_key_once(admin_api, stored):
    response = admin_api.post(TOKENS, {
        "name": "etl", "profiles": ["production"], "keys": ["POSTGRES_*"],
        "allowed_networks": ["10.0.0.0/8"], "expires_in_days": 30}, format="json")
    assert response.status_code == 201, response.json()
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == ANSWER_FIELDS
    assert body["key"].startswith("kzsvc_") and body["key"].startswith(body["prefix"])
    assert (body["name"], body["profiles"], body["keys"], body["allowed_networks"],
            body["created_by"], body["revoked_at"]) == (
        "etl", ["production"], ["POSTGRES_*"], ["10.0.0.0/8"], "root", None)
    token = ServiceToken.objects.get()
    assert token.digest == digest_of(body["key"])
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)

    listed = admin_api.get(TOKENS)
    assert listed.status_code == 200
    text = listed.content.decode()
    assert body["key"] not in text and token.digest not in text and "digest" not in text
    assert [t["name"] for t in listed.json()["results"]] == ["etl"]
    assert "key" not in listed.json()["results"][0]

    row = AuditLog.objects.get(action="SERVICE_TOKEN_CREATE")
    assert (row.username, row.channel) == ("root", "api")
    assert row.detail["service_token"] == "etl" and row.detail["token"] == token.prefix
    assert body["key"] not in json.dumps(row.detail)


def test_R19_expiry_defaults_to_90_days_and_null_never_expires(admin_api):
    default = admin_api.post(TOKENS, {"name": "a", "profiles": ["staging"]}, format="json")
    assert default.status_code == 201
    token = ServiceToken.objects.get(name="a")
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    never = admin_api.post(TOKENS, {"name": "b", "profiles": ["staging"],
                                    "expires_in_days": None}, format="json")
    assert never.status_code == 201
    assert never.json()["expires_at"] is None


@pytest.mark.parametrize("body, field", [
    ({"profiles": ["production"]}, "name"),
    ({"name": "etl"}, "profiles"),
    ({"name": "etl", "profiles": []}, "profiles"),
    ({"name": "etl", "profiles": "production"}, "profiles"),
    ({"name": "etl", "profiles": ["prod"]}, "profiles"),
    ({"name": "etl", "profiles": [{"a": 1}]}, "profiles"),
    ({"name": "etl", "profiles": ["production"], "keys": ["postgres_*"]}, "keys"),
    ({"name": "etl", "profiles": ["production"], "keys": "POSTGRES_*"}, "keys"),
    ({"name": "etl", "profiles": ["production"], "allowed_networks": ["intranet"]},
     "allowed_networks"),
    ({"name": "etl", "profiles": ["production"], "allowed_networks": "10.0.0.0/8"},
     "allowed_networks"),
    ({"name": "etl", "profiles": ["production"], "expires_in_days": 0}, "expires_in_days"),
    ({"name": "etl", "profiles": ["production"], "expires_in_days": "soon"},
     "expires_in_days"),
    ({"name": "etl", "profiles": ["production"], "expires_in_days": 4000}, "expires_in_days"),
    ({"name": "e\u001btl", "profiles": ["production"]}, "name"),
    ({"name": "x" * 101, "profiles": ["production"]}, "name"),
])
def test_R19_bad_service_tokens_are_400_naming_the_field(admin_api, body, field):
    response = admin_api.post(TOKENS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not ServiceToken.objects.exists()


@pytest.mark.parametrize("raw", ['["etl"]', '"etl"', "42", "null", "{"])
def test_R19_service_tokens_answer_non_objects_with_400(admin_api, raw):
    response = admin_api.generic("POST", TOKENS, raw, content_type="application/json")
    assert response.status_code == 400
    assert not ServiceToken.objects.exists()


def test_R19_revoking_is_204_idempotent_and_audited_once(admin_api, etl):
    token, key = etl
    assert with_key(key).get(SECRETS).status_code == 200
    assert admin_api.delete(f"{TOKENS}{token.pk}/").status_code == 204
    assert admin_api.delete(f"{TOKENS}{token.pk}/").status_code == 204
    assert admin_api.delete(f"{TOKENS}999999/").status_code == 404
    assert ServiceToken.objects.get().revoked_at is not None
    row = AuditLog.objects.get(action="SERVICE_TOKEN_REVOKE")
    assert (row.username, row.detail) == ("root", {"service_token": "etl",
                                                   "token": token.prefix})
    refused = with_key(key).get(SECRETS)
    assert refused.status_code == 401


def test_R19_service_tokens_are_managed_by_admins_only(member, admin_user, etl):
    token, _ = etl
    reader = member
    add_grant(admin_user, reader, "production", "editor")
    client = APIClient()
    client.force_authenticate(reader)
    for method, path in (("GET", TOKENS), ("POST", TOKENS), ("DELETE", f"{TOKENS}{token.pk}/")):
        body = json.dumps({"name": "mine", "profiles": ["production"]})
        response = client.generic(method, path, body, content_type="application/json")
        assert response.status_code == 403, method
        assert response.json() == REFUSED
    assert ServiceToken.objects.count() == 1 and ServiceToken.objects.get().revoked_at is None
    assert AuditLog.objects.filter(action="DENIED", username="bob").count() == 3
    assert APIClient().get(TOKENS).status_code == 401


# --- using one ----------------------------------------------------------------------------


def test_R19_a_token_lists_only_its_scope(etl, stored):
    _, key = etl
    response = with_key(key).get(SECRETS)
    assert response.status_code == 200
    assert [(s["profile"], s["key"]) for s in response.json()["results"]] == [
        ("production", "POSTGRES_PASSWORD")]
    assert response.json()["results"][0]["value"] == "********"
    profiles = with_key(key).get(f"{SECRETS}profiles/")
    assert profiles.status_code == 200
    assert {p["profile"]: p["count"] for p in profiles.json()}["development"] == 0
    outside = stored[("development", "POSTGRES_PASSWORD")]
    assert with_key(key).get(f"{SECRETS}{outside.pk}/").status_code == 403


def test_R19_a_token_decrypts_in_scope_and_is_refused_outside_audited(etl, stored):
    token, key = etl
    inside = stored[("production", "POSTGRES_PASSWORD")]
    response = with_key(key).post(f"{SECRETS}{inside.pk}/decrypt/")
    assert response.status_code == 200
    assert response.json()["value"] == "production-POSTGRES_PASSWORD-VALUE"
    for outside in (stored[("production", "API_KEY")],
                    stored[("development", "POSTGRES_PASSWORD")]):
        refused = with_key(key).post(f"{SECRETS}{outside.pk}/decrypt/")
        assert refused.status_code == 403
        assert refused.json() == REFUSED
    rows = list(AuditLog.objects.filter(action="DECRYPT").order_by("sequence"))
    assert [(r.allowed, r.secret_id) for r in rows] == [
        (True, inside.pk), (False, stored[("production", "API_KEY")].pk),
        (False, stored[("development", "POSTGRES_PASSWORD")].pk)]
    # Audit rows name the creator as the actor, and the token.
    for row in rows:
        assert (row.username, row.channel) == ("root", "api")
        assert (row.detail["service_token"], row.detail["token"]) == ("etl", token.prefix)
    assert rows[1].detail["reason"] == "outside the service token's scope"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_R19_a_key_limited_token_cannot_open_a_whole_tunnel(etl, stored):
    _, key = etl
    response = with_key(key).post(f"{SECRETS}ssh-tunnel/", {"profile": "production"},
                                  format="json")
    assert response.status_code == 403
    assert response.json() == REFUSED


def test_R19_the_bearer_header_is_accepted(etl, stored):
    _, key = etl
    inside = stored[("production", "POSTGRES_PASSWORD")]
    response = with_key(key, "Bearer").post(f"{SECRETS}{inside.pk}/decrypt/")
    assert response.status_code == 200
    assert with_key(key, "bearer").get(SECRETS).status_code == 200


def test_R19_a_token_works_from_its_networks_only(admin_user, stored):
    token, key = create_service_token(admin_user, name="etl", profiles=["production"],
                                      allowed_networks=["10.0.0.0/8"])
    inside = stored[("production", "API_KEY")]
    allowed = with_key(key).post(f"{SECRETS}{inside.pk}/decrypt/", REMOTE_ADDR="10.1.2.3")
    assert allowed.status_code == 200
    refused = with_key(key).post(f"{SECRETS}{inside.pk}/decrypt/", REMOTE_ADDR="192.168.1.9")
    assert refused.status_code == 403
    assert "production-API_KEY-VALUE" not in refused.content.decode()
    row = AuditLog.objects.filter(action="DENIED").get()
    assert (row.username, row.ip_address, row.allowed) == ("root", "192.168.1.9", False)
    assert row.detail["reason"] == "outside the allowed networks"
    assert row.detail["token"] == token.prefix
    assert AuditLog.objects.filter(action="DECRYPT").count() == 1


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_R19_expired_and_revoked_tokens_are_401(etl, stored, state):
    token, key = etl
    change = ({"expires_at": timezone.now() - timedelta(seconds=1)} if state == "expired"
              else {"revoked_at": timezone.now()})
    ServiceToken.objects.filter(pk=token.pk).update(**change)
    inside = stored[("production", "POSTGRES_PASSWORD")]
    for response in (with_key(key).get(SECRETS),
                     with_key(key).post(f"{SECRETS}{inside.pk}/decrypt/")):
        assert response.status_code == 401
        assert response.json() == {"detail": "Not authenticated"}
    assert not AuditLog.objects.filter(action="DECRYPT").exists()


def test_R19_a_token_reaches_no_write_import_versions_audit_or_token_endpoint(
        admin_user, etl, stored):
    token, key = etl
    inside = stored[("production", "POSTGRES_PASSWORD")]
    grant, _ = add_grant(admin_user, admin_user, "production", "reader")
    api_token, _ = create_token(admin_user, "mine")
    sequence = AuditLog.objects.latest("sequence").sequence
    body = {"name": "x", "key": "POSTGRES_X", "value": "v", "profile": "production"}
    asks = [
        ("POST", SECRETS, body),
        ("PUT", f"{SECRETS}{inside.pk}/", body),
        ("PATCH", f"{SECRETS}{inside.pk}/", {"value": "hacked"}),
        ("DELETE", f"{SECRETS}{inside.pk}/", None),
        ("GET", f"{SECRETS}{inside.pk}/versions/", None),
        ("POST", f"{SECRETS}{inside.pk}/versions/1/restore/", None),
        ("POST", f"{SECRETS}import/", {"production": {"POSTGRES_X": "v"}}),
        ("GET", "/api/v1/audit/", None),
        ("GET", f"/api/v1/audit/{sequence}/", None),
        ("GET", "/api/v1/tokens/", None),
        ("POST", "/api/v1/tokens/", {"name": "escape"}),
        ("DELETE", f"/api/v1/tokens/{api_token.pk}/", None),
        ("GET", "/api/v1/grants/", None),
        ("POST", "/api/v1/grants/", {"user": "root", "profile": "production",
                                     "role": "editor"}),
        ("DELETE", f"/api/v1/grants/{grant.pk}/", None),
        ("GET", TOKENS, None),
        ("POST", TOKENS, {"name": "more", "profiles": ["production", "development"]}),
        ("DELETE", f"{TOKENS}{token.pk}/", None),
    ]
    before = (sorted((s.pk, s.value.token, s.updated_at) for s in Secret.objects.all()),
              SecretVersion.objects.count(), ApiToken.objects.filter(revoked_at=None).count(),
              list(ProfileGrant.objects.values_list("pk", "role")),
              list(ServiceToken.objects.values_list("pk", "revoked_at")))
    for method, path, payload in asks:
        denied = AuditLog.objects.filter(action="DENIED").count()
        response = with_key(key).generic(method, path,
                                         json.dumps(payload) if payload else "",
                                         content_type="application/json")
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.json() == REFUSED
        assert AuditLog.objects.filter(action="DENIED").count() == denied + 1, (method, path)
    after = (sorted((s.pk, s.value.token, s.updated_at) for s in Secret.objects.all()),
             SecretVersion.objects.count(), ApiToken.objects.filter(revoked_at=None).count(),
             list(ProfileGrant.objects.values_list("pk", "role")),
             list(ServiceToken.objects.values_list("pk", "revoked_at")))
    assert after == before
    rows = AuditLog.objects.filter(action="DENIED")
    assert set(rows.values_list("username", flat=True)) == {"root"}
    assert {row.detail["token"] for row in rows} == {token.prefix}


# --- budgets ------------------------------------------------------------------------------


def test_R19_a_service_token_fetches_100_decrypts_in_a_minute_while_a_persons_limit_stays_10(
        settings, admin_user, member, etl, stored):
    settings.SECRETS_DECRYPT_RATE = "10/m"
    _, key = etl
    inside = stored[("production", "POSTGRES_PASSWORD")]
    program = with_key(key)
    statuses = [program.post(f"{SECRETS}{inside.pk}/decrypt/").status_code
                for _ in range(100)]
    assert statuses == [200] * 100
    add_grant(admin_user, member, "production", "reader")
    person = APIClient()
    person.force_authenticate(member)
    answers = [person.post(f"{SECRETS}{inside.pk}/decrypt/") for _ in range(11)]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert int(answers[-1]["Retry-After"]) >= 1
    # The person's spent budget does not touch the program's.
    assert program.post(f"{SECRETS}{inside.pk}/decrypt/").status_code == 200


def test_R19_past_its_own_budget_a_token_gets_429_with_retry_after(settings, etl, stored):
    settings.SECRETS_SERVICE_TOKEN_RATE = "3/m"
    token, key = etl
    client = with_key(key)
    assert [client.get(SECRETS).status_code for _ in range(3)] == [200] * 3
    refused = client.get(SECRETS)
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Rate limit exceeded. Try again later."}
    assert int(refused["Retry-After"]) >= 1
    row = AuditLog.objects.filter(action="DENIED").get()
    assert (row.username, row.detail["reason"], row.detail["token"]) == (
        "root", "service token rate limited", token.prefix)


# --- Django admin -------------------------------------------------------------------------


def test_R19_admin_lists_service_tokens_without_digest_and_revokes(client, admin_user, etl):
    token, key = etl
    client.force_login(admin_user)
    page = client.get(ADMIN_LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "etl" in html and token.prefix in html
    assert token.digest not in html and key not in html and "digest" not in html.lower()
    assert "manage.py create_service_token" in html  # why there is no "add" here
    assert client.get(f"{ADMIN_LIST}add/").status_code == 403
    assert client.get(f"{ADMIN_LIST}?digest__startswith={token.digest[:4]}").status_code in (
        302, 400)
    response = client.post(ADMIN_LIST, {"action": "revoke_selected",
                                        "_selected_action": [token.pk]}, follow=True)
    assert response.status_code == 200
    assert "Revoked 1 service token." in response.content.decode()
    assert ServiceToken.objects.get().revoked_at is not None
    row = AuditLog.objects.get(action="SERVICE_TOKEN_REVOKE")
    assert (row.channel, row.username) == ("admin", "root")
    assert with_key(key).get(SECRETS).status_code == 401


def test_R19_admin_shows_scopes_as_text_not_json(client, admin_user):
    token, _ = create_service_token(admin_user, name="etl", profiles=["production", "staging"],
                                    keys=["POSTGRES_*", "AWS_?_KEY"],
                                    allowed_networks=["10.0.0.0/8"])
    bare, _ = create_service_token(admin_user, name="bare", profiles=["development"])
    client.force_login(admin_user)
    for url in (ADMIN_LIST, f"{ADMIN_LIST}{token.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "[&quot;" not in html and '["' not in html
        assert ", ".join(token.profiles) in html
        assert ", ".join(token.key_patterns) in html and "10.0.0.0/8" in html
    html = client.get(f"{ADMIN_LIST}{bare.pk}/change/").content.decode()
    assert "every key" in html and "anywhere" in html


# --- start-up -----------------------------------------------------------------------------


def test_R19_a_service_token_rate_that_does_not_read_stops_start_up():
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("SECRETS_", "DJANGO_SETTINGS_MODULE"))}
    env.update(KOZMO_IGNORE_DOTENV="1", DJANGO_SECRET_KEY="x" * 50,
               DATABASE_URL="sqlite://:memory:", SECRETS_ENCRYPTION_KEY="k" * 40,
               SECRETS_SERVICE_TOKEN_RATE="lots")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "SECRETS_SERVICE_TOKEN_RATE must look like 10/m" in result.stderr
    assert "Traceback" not in result.stderr
