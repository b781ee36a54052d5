"""What the review tried that held (kept as regression checks)."""

import json

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.models import ProfileGrant, ServiceToken
from secrets_app.access.service_tokens import create_service_token
from secrets_app.access.tokens import digest_of
from secrets_app.models import Secret, SecretVersion
from secrets_app.services.secrets import create_secret, update_secret
from tests.review_i12.test_findings import REFUSED, SECRETS, as_user, with_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(admin_user):
    reader = User.objects.create_user("rita", "", "x")
    editor = User.objects.create_user("ed", "", "x")
    add_grant(admin_user, reader, "development", "reader")
    add_grant(admin_user, editor, "development", "editor")
    dev = create_secret(admin_user, name="dev db", key="POSTGRES_PASSWORD", value="DEV-V1",
                        profile="development")
    update_secret(dev, admin_user, value="DEV-V2")
    prod = create_secret(admin_user, name="prod db", key="POSTGRES_PASSWORD", value="PROD-V1",
                         profile="production")
    update_secret(prod, admin_user, value="PROD-V2")
    return {"reader": reader, "editor": editor, "dev": dev, "prod": prod}


def snapshot():
    return (sorted((str(s.pk), s.profile, s.name, s.key, s.value.token)
                   for s in Secret.objects.all()),
            SecretVersion.objects.count(), ProfileGrant.objects.count(),
            ServiceToken.objects.filter(revoked_at__isnull=True).count())


def test_editor_cannot_escape_their_profile(cast):
    client = as_user(cast["editor"])
    before = snapshot()
    denied = AuditLog.objects.filter(allowed=False).count()
    prod, dev = cast["prod"], cast["dev"]
    attempts = [
        ("patch", f"{SECRETS}{dev.pk}/", {"profile": "production"}),
        ("put", f"{SECRETS}{dev.pk}/", {"name": "dev db", "key": "POSTGRES_PASSWORD",
                                         "profile": "production"}),
        ("patch", f"{SECRETS}{prod.pk}/", {"value": "x"}),
        ("patch", f"{SECRETS}{prod.pk}/", {"profile": "development"}),
        ("delete", f"{SECRETS}{prod.pk}/", None),
        ("get", f"{SECRETS}{prod.pk}/versions/", None),
        ("post", f"{SECRETS}{prod.pk}/versions/1/restore/", None),
        ("post", SECRETS, {"name": "n", "key": "API_KEY", "value": "v",
                           "profile": "production"}),
        ("post", f"{SECRETS}{prod.pk}/decrypt/", None),
        ("post", f"{SECRETS}ssh-tunnel/", {"profile": "production"}),
        ("get", "/api/v1/grants/", None),
        ("post", "/api/v1/grants/", {"user": "ed", "profile": "production", "role": "editor"}),
        ("get", "/api/v1/service-tokens/", None),
        ("post", "/api/v1/service-tokens/", {"name": "x", "profiles": ["production"]}),
        ("get", "/api/v1/audit/", None),
    ]
    for method, path, body in attempts:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.json() == REFUSED, (method, path)
    assert snapshot() == before
    assert AuditLog.objects.filter(allowed=False).count() - denied == len(attempts)


def test_editor_import_with_sections_touches_only_their_profile(cast):
    yaml = (b"development:\n  API_KEY: dev-imported\n"
            b"production:\n  API_KEY: prod-imported\n  POSTGRES_PASSWORD: PROD-V2\n"
            b"default:\n  API_KEY: default-imported\n")
    client = as_user(cast["editor"])
    response = client.generic("POST", f"{SECRETS}import/", yaml,
                              content_type="application/yaml")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == 1 and body["failed"] == 3 and body["unchanged"] == 0
    assert set(Secret.objects.values_list("profile", flat=True)) == {"development",
                                                                      "production"}
    # no oracle on production values: the matching PROD-V2 is not reported "unchanged"
    for profile in ("production", "default"):
        r = client.generic("POST", f"{SECRETS}import/?profile={profile}", yaml,
                           content_type="application/yaml")
        assert r.json()["created"] == 0 and r.json()["unchanged"] == 0


def test_reader_cannot_write_and_keeps_the_10_a_minute_limit(cast, settings):
    settings.SECRETS_DECRYPT_RATE = "10/m"
    client = as_user(cast["reader"])
    before = snapshot()
    for method, path, body in [
        ("patch", f"{SECRETS}{cast['dev'].pk}/", {"value": "x"}),
        ("delete", f"{SECRETS}{cast['dev'].pk}/", None),
        ("post", SECRETS, {"name": "n", "key": "API_KEY", "value": "v",
                           "profile": "development"}),
        ("get", f"{SECRETS}{cast['dev'].pk}/versions/", None),
        ("post", f"{SECRETS}{cast['dev'].pk}/versions/1/restore/", None),
    ]:
        assert getattr(client, method)(path, body, format="json").status_code == 403
    r = client.generic("POST", f"{SECRETS}import/", b"development:\n  API_KEY: v\n",
                       content_type="application/yaml")
    assert r.status_code == 403
    assert snapshot() == before
    codes = [client.post(f"{SECRETS}{cast['dev'].pk}/decrypt/").status_code
             for _ in range(12)]
    assert codes == [200] * 10 + [429] * 2


def test_service_token_reaches_nothing_but_reads(cast, admin_user):
    _, key = create_service_token(admin_user, name="etl", profiles=["development"])
    dev = cast["dev"]
    before = snapshot()
    client = with_key(key, "Bearer")
    for method, path, body in [
        ("patch", f"{SECRETS}{dev.pk}/", {"value": "x"}),
        ("put", f"{SECRETS}{dev.pk}/", {"name": "a", "key": "API_KEY"}),
        ("delete", f"{SECRETS}{dev.pk}/", None),
        ("post", SECRETS, {"name": "n", "key": "API_KEY", "value": "v",
                           "profile": "development"}),
        ("get", f"{SECRETS}{dev.pk}/versions/", None),
        ("post", f"{SECRETS}{dev.pk}/versions/1/restore/", None),
        ("options", SECRETS, None),
        ("get", "/api/v1/audit/", None),
        ("get", "/api/v1/tokens/", None),
        ("post", "/api/v1/tokens/", {"name": "x"}),
        ("get", "/api/v1/grants/", None),
        ("post", "/api/v1/grants/", {"user": "rita", "profile": "production",
                                     "role": "editor"}),
        ("get", "/api/v1/service-tokens/", None),
        ("post", "/api/v1/service-tokens/", {"name": "x", "profiles": ["production"]}),
        ("post", f"{SECRETS}{cast['prod'].pk}/decrypt/", None),
        ("get", f"{SECRETS}{cast['prod'].pk}/", None),
    ]:
        r = getattr(client, method)(path, body, format="json")
        assert (r.status_code, r.json()) == (403, REFUSED), (method, path)
    r = client.generic("POST", f"{SECRETS}import/", b"development:\n  API_KEY: v\n",
                       content_type="application/yaml")
    assert r.status_code == 403
    assert snapshot() == before
    # the console and admin do not take tokens
    assert with_key(key).get("/").status_code in (302, 401, 403)
    assert with_key(key).get("/admin/").status_code == 302
    assert client.post(f"{SECRETS}{dev.pk}/decrypt/").json()["value"] == "DEV-V2"


def test_service_token_budget_is_per_token_and_not_the_people_limit(cast, admin_user,
                                                                   settings):
    settings.SECRETS_SERVICE_TOKEN_RATE = "20/m"
    settings.SECRETS_DECRYPT_RATE = "10/m"
    _, a = create_service_token(admin_user, name="a", profiles=["development"])
    _, b = create_service_token(admin_user, name="b", profiles=["development"])
    path = f"{SECRETS}{cast['dev'].pk}/decrypt/"
    codes = [with_key(a).post(path).status_code for _ in range(22)]
    assert codes == [200] * 20 + [429] * 2
    assert with_key(b).post(path).status_code == 200
    refused = with_key(a).get(SECRETS)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1


@pytest.mark.parametrize("trusted, remote, xff, allowed", [
    ([], "203.0.113.9", "10.1.2.3", False),           # XFF ignored without trusted proxies
    (["127.0.0.1"], "203.0.113.9", "10.1.2.3", False),  # not from the proxy: ignored
    (["127.0.0.1"], "127.0.0.1", "10.1.2.3, 203.0.113.9", False),  # spoof on the left
    (["127.0.0.1"], "127.0.0.1", "10.1.2.3", True),   # the proxy vouches
    (["127.0.0.1"], "127.0.0.1", "garbage", False),   # unparsable: stays the proxy
    ([], "::ffff:10.1.2.3", "", True),                # mapped v4
])
def test_networks_and_forwarded_for(admin_user, cast, settings, trusted, remote, xff,
                                    allowed):
    settings.SECRETS_TRUSTED_PROXIES = trusted
    _, key = create_service_token(admin_user, name="n", profiles=["development"],
                                  allowed_networks=["10.0.0.0/8"])
    client = with_key(key, REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=xff)
    r = client.get(SECRETS)
    assert (r.status_code == 200) is allowed, r.status_code
    if not allowed:
        assert AuditLog.objects.filter(action="DENIED",
                                       detail__reason="outside the allowed networks").exists()


def test_creator_deactivated_or_deleted(cast, admin_user):
    creator = User.objects.create_superuser("tmp", "", "x")
    _, key = create_service_token(creator, name="left", profiles=["development"])
    creator.is_active = False
    creator.save()
    assert with_key(key).get(SECRETS).status_code == 200   # documented: keeps working
    creator.delete()
    r = with_key(key).post(f"{SECRETS}{cast['dev'].pk}/decrypt/")
    assert r.status_code == 200
    row = AuditLog.objects.filter(action="DECRYPT").latest("sequence")
    assert row.user_id is None and row.detail["service_token"] == "left"


def test_no_key_or_digest_in_audit_or_lists(cast, admin_user, client):
    admin = as_user(admin_user)
    made = admin.post("/api/v1/service-tokens/", {"name": "leak", "profiles": ["development"]},
                      format="json").json()
    key = made["key"]
    digest = digest_of(key)
    with_key(key).post(f"{SECRETS}{cast['dev'].pk}/decrypt/")
    with_key(key).patch(f"{SECRETS}{cast['dev'].pk}/", {"value": "x"}, format="json")
    with_key(key + "x").get(SECRETS)
    dump = json.dumps(list(AuditLog.objects.values()), default=str)
    assert key not in dump and digest not in dump and "DEV-V2" not in dump
    listing = admin.get("/api/v1/service-tokens/").content.decode()
    assert key not in listing and digest not in listing
    client.force_login(admin_user)
    for page in ("/settings/service-tokens/", "/admin/secrets_app/servicetoken/",
                 f"/admin/secrets_app/servicetoken/{made['id']}/change/"):
        html = client.get(page).content.decode()
        assert key not in html and digest not in html, page


def test_expired_revoked_and_odd_headers_are_401(admin_user, cast):
    from datetime import timedelta

    from django.utils import timezone
    token, key = create_service_token(admin_user, name="e", profiles=["development"])
    for header in (f"Token {key} extra", f"Token {key}\u00e9", "Token kzsvc_", "Bearer",
                   f"Token {key[:-1]}", f"token {key.upper()}"):
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=header)
        assert c.get(SECRETS).status_code == 401, header
    ServiceToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    assert with_key(key).get(SECRETS).status_code == 401
    token2, key2 = create_service_token(admin_user, name="r", profiles=["development"])
    ServiceToken.objects.filter(pk=token2.pk).update(revoked_at=timezone.now())
    assert with_key(key2).get(SECRETS).status_code == 401


def test_console_forged_requests_by_an_editor_are_403_audited(cast, client):
    client.force_login(cast["editor"])
    dev, prod = cast["dev"], cast["prod"]
    before = snapshot()
    rows = AuditLog.objects.filter(allowed=False).count()
    forged = [
        (f"/secrets/{dev.pk}/edit/", {"name": "dev db", "key": "POSTGRES_PASSWORD",
                                      "profile": "production", "value": ""}),
        ("/secrets/new/", {"name": "n", "key": "API_KEY", "value": "v",
                           "profile": "production"}),
        (f"/secrets/{prod.pk}/edit/", {"name": "prod db", "key": "POSTGRES_PASSWORD",
                                       "profile": "production", "value": "x"}),
        (f"/secrets/{prod.pk}/delete/", {}),
        (f"/secrets/{prod.pk}/versions/1/restore/", {}),
        (f"/secrets/{prod.pk}/decrypt/", {}),
        ("/settings/access/", {"user": "ed", "profile": "production", "role": "editor"}),
        ("/settings/service-tokens/", {"name": "x", "profiles": ["production"]}),
    ]
    for path, data in forged:
        r = client.post(path, data)
        assert r.status_code == 403, (path, r.status_code)
        assert b"PROD-V" not in r.content
    assert snapshot() == before
    assert AuditLog.objects.filter(allowed=False).count() - rows == len(forged)


def test_commands_with_as(cast, admin_user):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    def run(*args):
        out = io.StringIO()
        call_command(*args, stdout=out, stderr=io.StringIO())
        return out.getvalue()

    create_secret(admin_user, name="API_KEY", key="API_KEY", value="DEV-EXPORT",
                  profile="development")
    create_secret(admin_user, name="API_KEY", key="API_KEY", value="PROD-EXPORT",
                  profile="production")
    assert "DEV-EXPORT" in run("export_secrets", "--profile", "development", "--as", "rita")
    for args in (("export_secrets", "--as", "rita"),
                 ("export_secrets", "--profile", "production", "--as", "ed"),
                 ("resolve_credential", "POSTGRES_PASSWORD", "--profile", "production",
                  "--reveal", "--as", "rita"),
                 ("grant", "--user", "rita", "--profile", "production", "--role", "editor",
                  "--as", "ed"),
                 ("create_service_token", "x", "--profile", "production", "--as", "ed")):
        with pytest.raises(CommandError):
            run(*args)
    create_secret(admin_user, name="ONLY_DEFAULT", key="ONLY_DEFAULT", value="DEFAULT-V",
                  profile="default")
    with pytest.raises(CommandError):
        run("run_with_secrets", "--profile", "development", "--as", "rita", "--", "true")
    assert not ProfileGrant.objects.filter(profile="production").exists()
    assert not ServiceToken.objects.exists()


def test_django_admin_grants_need_secrets_admin_and_digest_is_not_filterable(cast, client,
                                                                             admin_user):
    from django.contrib.auth.models import Permission
    staff = User.objects.create_user("staff", "", "x", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(
        codename__in=["add_profilegrant", "view_profilegrant", "delete_profilegrant",
                      "view_servicetoken"]))
    client.force_login(staff)
    before = ProfileGrant.objects.count()
    r = client.post("/admin/secrets_app/profilegrant/add/",
                    {"user": staff.pk, "profile": "production", "role": "editor"})
    assert r.status_code == 403
    grant = ProfileGrant.objects.first()
    r = client.post(f"/admin/secrets_app/profilegrant/{grant.pk}/delete/", {"post": "yes"})
    assert r.status_code == 403
    assert ProfileGrant.objects.count() == before
    token, key = create_service_token(admin_user, name="t", profiles=["development"])
    r = client.get(f"/admin/secrets_app/servicetoken/?digest__startswith={digest_of(key)[:2]}")
    assert r.status_code in (302, 400) or "e=1" in r.get("Location", "")
    r = client.post("/admin/secrets_app/servicetoken/",
                    {"action": "revoke_selected", "_selected_action": [token.pk]})
    assert ServiceToken.objects.get(pk=token.pk).revoked_at is None
