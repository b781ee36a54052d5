"""Outside security review of issue 12 (R18 grants, R19 service tokens).

Each test asserts what the docs promise; a failing test is a finding."""


import pytest
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.service_tokens import create_service_token
from secrets_app.access.tokens import create_token
from secrets_app.models import Secret
from secrets_app.services.secrets import SSHTunnelData, create_secret

pytestmark = pytest.mark.django_db

SECRETS = "/api/v1/secrets/"
REFUSED = {"detail": "Admin privileges required"}


def with_key(key: str, scheme: str = "Token", **extra) -> APIClient:
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    return client


def as_user(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {create_token(user, 'review')[1]}")
    return client


# --- F1: SSH tunnel assembled from non-database sources ignores "strict per profile" -------


def test_F1_ssh_tunnel_from_config_file_default_section_needs_a_grant_on_default(
        admin_user, dev_reader, settings, tmp_path):
    config = tmp_path / "io_config.yaml"
    config.write_text(
        "default:\n"
        "  SSH_HOST: bastion.prod.internal\n"
        "  SSH_USERNAME: deploy\n"
        "  SSH_PASSWORD: DEFAULT-SECTION-SSH-PASSWORD\n"
    )
    settings.SECRETS_CONFIG_FILE = str(config)
    # The reader holds `development` only: default's values are not theirs (docs/access.md,
    # "Strict per profile"), whichever source stores them.
    response = as_user(dev_reader).post(f"{SECRETS}ssh-tunnel/", {"profile": "development"},
                                        format="json")
    assert "DEFAULT-SECTION-SSH-PASSWORD" not in response.content.decode()
    assert response.status_code == 403, response.content


def test_F1_service_token_for_development_gets_default_config_file_tunnel(
        admin_user, settings, tmp_path):
    config = tmp_path / "io_config.yaml"
    config.write_text(
        "default:\n"
        "  SSH_HOST: bastion.prod.internal\n"
        "  SSH_PRIVATE_KEY: DEFAULT-SECTION-PRIVATE-KEY\n"
    )
    settings.SECRETS_CONFIG_FILE = str(config)
    _, key = create_service_token(admin_user, name="dev-etl", profiles=["development"])
    response = with_key(key).post(f"{SECRETS}ssh-tunnel/", {"profile": "development"},
                                  format="json")
    assert "DEFAULT-SECTION-PRIVATE-KEY" not in response.content.decode()
    assert response.status_code == 403, response.content


def test_F1_contrast_the_same_values_stored_in_the_database_are_refused(
        admin_user, dev_reader):
    create_secret(admin_user, name="SSH_HOST", key="SSH_HOST", value="bastion",
                  profile="default")
    create_secret(admin_user, name="SSH_PASSWORD", key="SSH_PASSWORD",
                  value="DB-DEFAULT-SSH-PASSWORD", profile="default")
    response = as_user(dev_reader).post(f"{SECRETS}ssh-tunnel/", {"profile": "development"},
                                        format="json")
    assert response.status_code == 403


# --- F2: a key-pattern token decrypting an SSH secret gets the whole tunnel ---------------


@pytest.fixture
def ssh_secret(admin_user):
    return create_secret(
        admin_user, name="bastion", key="SSH_HOST", value="bastion.prod.internal",
        profile="production", category="SSH",
        ssh=SSHTunnelData(host="bastion.prod.internal", username="deploy",
                          password="TUNNEL-PASSWORD", private_key="TUNNEL-PRIVATE-KEY"))


def test_F2_a_key_limited_token_cannot_open_a_whole_tunnel_via_decrypt(admin_user, ssh_secret):
    # docs/access.md: "A token limited by key patterns cannot open a whole tunnel, even if
    # its patterns would match some of those keys."
    _, key = create_service_token(admin_user, name="hosts", profiles=["production"],
                                  keys=["SSH_HOST"])
    tunnel = with_key(key).post(f"{SECRETS}ssh-tunnel/", {"profile": "production"},
                                format="json")
    assert tunnel.status_code == 403  # the dedicated route holds
    response = with_key(key).post(f"{SECRETS}{ssh_secret.pk}/decrypt/")
    text = response.content.decode()
    assert "TUNNEL-PASSWORD" not in text and "TUNNEL-PRIVATE-KEY" not in text, text


# --- F3: hostile JSON shapes on ssh-tunnel are 500, not 400/403 ---------------------------


@pytest.mark.parametrize("profile", [["development"], {"a": 1}])
def test_F3_ssh_tunnel_with_a_non_string_profile_is_not_a_500_for_a_reader(
        dev_reader, profile):
    client = as_user(dev_reader)
    client.raise_request_exception = False
    response = client.post(f"{SECRETS}ssh-tunnel/", {"profile": profile}, format="json")
    assert response.status_code in (400, 403), response.status_code


@pytest.mark.parametrize("profile", [["production"], {"a": 1}])
def test_F3_ssh_tunnel_with_a_non_string_profile_is_not_a_500_for_a_service_token(
        admin_user, profile):
    _, key = create_service_token(admin_user, name="t", profiles=["production"])
    client = with_key(key)
    client.raise_request_exception = False
    response = client.post(f"{SECRETS}ssh-tunnel/", {"profile": profile}, format="json")
    assert response.status_code in (400, 403), response.status_code


def test_F1_environment_ssh_credentials_need_a_grant_on_default(
        admin_user, dev_reader, monkeypatch):
    # The environment source has no profiles: it counts as `default`, the base layer, so a
    # reader of development alone does not get the server's environment.
    monkeypatch.setenv("SSH_HOST", "bastion.prod.internal")
    monkeypatch.setenv("SSH_PASSWORD", "SERVER-ENV-SSH-PASSWORD")
    client = as_user(dev_reader)
    response = client.post(f"{SECRETS}ssh-tunnel/", {"profile": "development"}, format="json")
    assert response.status_code == 403
    assert "SERVER-ENV-SSH-PASSWORD" not in response.content.decode()
    add_grant(admin_user, dev_reader, "default", "reader")
    response = client.post(f"{SECRETS}ssh-tunnel/", {"profile": "development"}, format="json")
    assert response.status_code == 200
    assert response.json()["password"] == "SERVER-ENV-SSH-PASSWORD"


# --- F4: check-then-lock: the profile checked is the caller's copy, not the locked row -----


def _moved_while_checking(monkeypatch, secret, to_profile):
    """Simulate an admin's move of `secret` committing between the editor's check (on the
    copy fetched by get_object) and the service's select_for_update."""
    from secrets_app.services import secrets as service

    real = service._locked

    def locked(copy):
        Secret.objects.filter(pk=copy.pk).update(profile=to_profile)
        return real(copy)

    monkeypatch.setattr(service, "_locked", locked)


def test_F4_an_editor_cannot_change_a_secret_that_moved_to_production_meanwhile(
        admin_user, dev_editor, monkeypatch):
    secret = create_secret(admin_user, name="db", key="POSTGRES_PASSWORD", value="old",
                           profile="development")
    _moved_while_checking(monkeypatch, secret, "production")
    response = as_user(dev_editor).patch(f"{SECRETS}{secret.pk}/",
                                         {"value": "EDITOR-WROTE-THIS"}, format="json")
    # The simulated move happens inside the refused write's transaction, so it rolls back
    # with it; what matters: refused, audited, the value untouched.
    assert response.status_code == 403
    assert response.json() == {"detail": "Admin privileges required"}
    stored = Secret.objects.get(pk=secret.pk)
    assert stored.value.reveal() == "old", "an editor of development changed a production secret"
    row = AuditLog.objects.filter(action="DENIED").get()
    assert row.detail["reason"] == "no editor grant on production"


def test_F4_an_editor_cannot_delete_a_secret_that_moved_to_production_meanwhile(
        admin_user, dev_editor, monkeypatch):
    secret = create_secret(admin_user, name="db", key="POSTGRES_PASSWORD", value="old",
                           profile="development")
    _moved_while_checking(monkeypatch, secret, "production")
    as_user(dev_editor).delete(f"{SECRETS}{secret.pk}/")
    assert Secret.objects.filter(pk=secret.pk).exists(), \
        "an editor of development deleted a production secret"


# --- F6: a short-lived admin credential mints a permanent service token --------------------


def test_F6_a_token_cannot_mint_a_service_token_that_outlives_it(admin_user):
    from datetime import timedelta

    from django.utils import timezone

    _, short = create_token(admin_user, "one day", expires_in_days=1)
    response = with_key(short).post("/api/v1/service-tokens/", {
        "name": "backdoor", "profiles": ["default", "development", "staging", "production"],
        "expires_in_days": None}, format="json")
    assert response.status_code == 201
    expires = response.json()["expires_at"]
    assert expires is not None and expires <= (timezone.now() + timedelta(days=1)).isoformat(), \
        f"a 1-day admin token minted a service token expiring {expires}"


def test_F1_cli_resolve_credential_as_a_reader_reveals_default_config_value(
        admin_user, dev_reader, settings, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    config = tmp_path / "io_config.yaml"
    config.write_text("default:\n  POSTGRES_PASSWORD: DEFAULT-CONFIG-PG\n")
    settings.SECRETS_CONFIG_FILE = str(config)
    import io
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("resolve_credential", "POSTGRES_PASSWORD", "--profile", "development",
                     "--reveal", "--as", "rita", stdout=out, stderr=io.StringIO())
    assert "DEFAULT-CONFIG-PG" not in out.getvalue()


# --- F7: out-of-network requests with a (leaked) key write unmetered audit rows ----------


def test_F7_a_leaked_key_from_outside_its_networks_cannot_fill_the_audit_log(
        admin_user, settings):
    settings.SECRETS_SERVICE_TOKEN_RATE = "5/m"
    _, key = create_service_token(admin_user, name="n", profiles=["development"],
                                  allowed_networks=["10.0.0.0/8"])
    before = AuditLog.objects.count()
    client = with_key(key, REMOTE_ADDR="203.0.113.9")
    codes = [client.get(SECRETS).status_code for _ in range(50)]
    written = AuditLog.objects.count() - before
    assert written <= 6, f"{written} audit rows from 50 refused requests, codes {set(codes)}"


# --- F8: a secret moved into a profile brings its old values; editors there restore them ----


def test_F8_moving_a_secret_does_not_hand_its_production_history_to_dev_editors(
        admin_user, dev_editor):
    secret = create_secret(admin_user, name="db", key="POSTGRES_PASSWORD",
                           value="PROD-HISTORIC-PASSWORD", profile="production")
    from secrets_app.services.secrets import update_secret
    update_secret(secret, admin_user, value="placeholder", profile="development")
    client = as_user(dev_editor)
    assert client.get(f"{SECRETS}{secret.pk}/versions/").status_code == 200
    refused = client.post(f"{SECRETS}{secret.pk}/versions/1/restore/")
    assert refused.status_code == 403
    assert client.post(f"{SECRETS}{secret.pk}/decrypt/").json()["value"] == "placeholder"
    row = AuditLog.objects.filter(action="DENIED").get()
    assert row.detail["reason"] == "version 1 was set in production"
    # Version 2 was set in development: restoring it is the editor's to do.
    assert client.post(f"{SECRETS}{secret.pk}/versions/2/restore/").status_code == 200


# --- F9: a key pattern becomes a catastrophic regex on SQLite (list is per row) ------------


def test_F9_a_key_pattern_list_stays_fast_on_sqlite(admin_user, dev_editor):
    import time

    from django.db import connection
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's regex engine does not backtrack")
    # An editor may store any UPPER_SNAKE key in their profile.
    create_secret(dev_editor, name="pathological", key="A" * 40, value="v",
                  profile="development")
    _, key = create_service_token(admin_user, name="p", profiles=["development"],
                                  keys=["*A" * 9 + "B"])
    started = time.monotonic()
    assert with_key(key).get(SECRETS).status_code == 200
    elapsed = time.monotonic() - started
    assert elapsed < 1, f"one list took {elapsed:.1f} s"
