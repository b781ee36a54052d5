"""Second outside review of issue 12's fixes (R18, R19): each test asserts what should hold
(each failed before its fix)."""

import contextlib
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.service_tokens import create_service_token
from secrets_app.access.tokens import create_token
from secrets_app.models import Secret, SecretVersion
from secrets_app.services.secrets import create_secret, update_secret

pytestmark = pytest.mark.django_db

SECRETS = "/api/v1/secrets/"


def with_key(key, scheme="Token", **extra):
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    return client


def as_user(user):
    return with_key(create_token(user, "review2")[1])


# --- A: resolve() reads the value and "where it came from" in two separate lookups ----------


def _key_appears_in_production_between_lookups(monkeypatch, key, user):
    """A production editor creates KEY in production between the chain's value lookup (which
    found `default`'s) and its origin lookup. The attacker controls both sides of this race."""
    from secrets_app.sources import database

    real_get = database.DatabaseLoader.get

    def get(self, k, profile="default"):
        value = real_get(self, k, profile)
        if k == key and profile == "production" and not Secret.objects.filter(
                key=key, profile="production").exists():
            create_secret(user, name=key, key=key, value="decoy", profile="production")
        return value

    monkeypatch.setattr(database.DatabaseLoader, "get", get)


def test_A_ssh_tunnel_keys_race_gives_a_production_editor_defaults_ssh_password(
        admin_user, prod_editor, monkeypatch):
    create_secret(admin_user, name="SSH_HOST", key="SSH_HOST", value="bastion", profile="default")
    create_secret(admin_user, name="SSH_PASSWORD", key="SSH_PASSWORD",
                  value="DEFAULT-SSH-PASSWORD", profile="default")
    create_secret(prod_editor, name="SSH_HOST", key="SSH_HOST", value="h", profile="production")
    client = as_user(prod_editor)
    # Without the race: refused (the password falls back to default).
    assert client.post(f"{SECRETS}ssh-tunnel/", {"profile": "production"},
                       format="json").status_code == 403
    _key_appears_in_production_between_lookups(monkeypatch, "SSH_PASSWORD", prod_editor)
    response = client.post(f"{SECRETS}ssh-tunnel/", {"profile": "production"}, format="json")
    assert "DEFAULT-SSH-PASSWORD" not in response.content.decode(), \
        "value taken from default, permission checked against production's new secret"


def test_A_resolve_credential_race_reveals_defaults_value_to_a_production_editor(
        admin_user, prod_editor, monkeypatch):
    create_secret(admin_user, name="POSTGRES_PASSWORD", key="POSTGRES_PASSWORD",
                  value="DEFAULT-PG", profile="default")
    _key_appears_in_production_between_lookups(monkeypatch, "POSTGRES_PASSWORD", prod_editor)
    out = io.StringIO()
    with contextlib.suppress(CommandError):
        call_command("resolve_credential", "POSTGRES_PASSWORD", "--profile", "production",
                     "--reveal", "--as", "pat", stdout=out, stderr=io.StringIO())
    assert "DEFAULT-PG" not in out.getvalue()


def test_A_config_file_answered_in_fails_open_when_the_file_changes(
        admin_user, settings, tmp_path, monkeypatch):
    """ConfigFileLoader.answered_in re-reads the file; when the key is no longer found it
    answers the profile asked (not `default`), so the gate checks the wrong profile."""
    reader = User.objects.create_user("rita", "", "x")
    add_grant(admin_user, reader, "development", "reader")
    config = tmp_path / "io_config.yaml"
    config.write_text("default:\n  POSTGRES_PASSWORD: DEFAULT-CONFIG-PG\n")
    settings.SECRETS_CONFIG_FILE = str(config)
    from secrets_app.sources import config_file

    real_get = config_file.ConfigFileLoader.get

    def get(self, key, profile="default"):
        value = real_get(self, key, profile)
        if value is not None:  # the operator edits the file right now
            config.write_text("default:\n  OTHER_KEY: x\n# edited\n")
        return value

    monkeypatch.setattr(config_file.ConfigFileLoader, "get", get)
    out = io.StringIO()
    with contextlib.suppress(CommandError):
        call_command("resolve_credential", "POSTGRES_PASSWORD", "--profile", "development",
                     "--reveal", "--as", "rita", stdout=out, stderr=io.StringIO())
    assert "DEFAULT-CONFIG-PG" not in out.getvalue()


# --- B: versions from before the migration -------------------------------------------------


def test_B_pre_migration_history_is_not_labelled_with_the_secrets_profile_now(
        admin_user, dev_editor):
    """Migration 0008 leaves old versions unlabelled (where they were set is not known):
    only admins restore them."""
    secret = create_secret(admin_user, name="db", key="POSTGRES_PASSWORD",
                           value="PROD-HISTORIC", profile="production")
    update_secret(secret, admin_user, value="placeholder", profile="development")
    SecretVersion.objects.update(profile="")  # as migration 0008 leaves them
    client = as_user(dev_editor)
    response = client.post(f"{SECRETS}{secret.pk}/versions/1/restore/")
    assert response.status_code == 403
    assert client.post(f"{SECRETS}{secret.pk}/decrypt/").json()["value"] != "PROD-HISTORIC"


def test_B_a_version_with_no_profile_is_restorable_by_any_editor(admin_user, dev_editor):
    """restore_version skips the check when version.profile is "" (fail open)."""
    secret = create_secret(admin_user, name="db", key="POSTGRES_PASSWORD",
                           value="PROD-HISTORIC", profile="production")
    update_secret(secret, admin_user, value="placeholder", profile="development")
    SecretVersion.objects.filter(number=1).update(profile="")
    response = as_user(dev_editor).post(f"{SECRETS}{secret.pk}/versions/1/restore/")
    assert response.status_code == 403


# --- C: hostile shapes on ssh-tunnel, for refused and allowed callers -----------------------


@pytest.mark.parametrize("name", [{"a": 1}, ["x"] * 3, 12, True, "N" * 100000, "\x00bad"])
@pytest.mark.parametrize("who", ["dev_reader_refused", "admin"])
def test_C_ssh_tunnel_hostile_names_are_not_500(admin_user, dev_editor, name, who):
    client = as_user(admin_user) if who == "admin" else as_user(dev_editor)
    response = client.post(f"{SECRETS}ssh-tunnel/", {"profile": "production", "name": name},
                           format="json")
    assert response.status_code in (400, 403, 404), (response.status_code, response.content[:200])


@pytest.mark.parametrize("profile", ["production\x00", "PRODUCTION", " production", "default "])
def test_C_ssh_tunnel_near_miss_profiles(admin_user, dev_editor, profile):
    response = as_user(dev_editor).post(f"{SECRETS}ssh-tunnel/", {"profile": profile},
                                        format="json")
    assert response.status_code in (400, 403), response.status_code


# --- D: lasting access from an expiring admin credential -----------------------------------


# --- E: SQLite: a patterned token's list is one IN (...) of every matching key -------------


def test_E_patterned_token_list_with_many_keys(admin_user):
    from django.db import connection
    if connection.vendor != "sqlite":
        pytest.skip("sqlite only")
    now = timezone.now()
    Secret.objects.bulk_create([
        Secret(name=f"K{i}", key=f"K{i}", value="v", profile="development", category="OTHER",
               created_at=now, updated_at=now) for i in range(33000)], batch_size=2000)
    _, key = create_service_token(admin_user, name="p", profiles=["development"], keys=["K*"])
    response = with_key(key).get(SECRETS)
    assert response.status_code == 200, response.status_code


# --- F: over-budget refusals of a key are still one audit row each --------------------------


def test_F_a_leaked_key_past_its_budget_cannot_fill_the_audit_log(admin_user, settings):
    """F7's fix budgets wrong-network refusals; a token without networks (or used from inside
    them) past its own budget still writes one DENIED row per 429."""
    settings.SECRETS_SERVICE_TOKEN_RATE = "5/m"
    _, key = create_service_token(admin_user, name="n", profiles=["development"])
    client = with_key(key, REMOTE_ADDR="203.0.113.9")
    before = AuditLog.objects.count()
    codes = [client.get(SECRETS).status_code for _ in range(60)]
    written = AuditLog.objects.count() - before
    assert codes.count(429) == 55
    assert written <= 12, f"{written} audit rows from 55 throttled requests"


# --- G: IPv6 and mapped addresses -----------------------------------------------------------


@pytest.mark.parametrize("networks, remote, allowed", [
    (["10.0.0.0/8"], "::ffff:10.1.2.3", True),
    (["10.0.0.0/8"], "::10.1.2.3", False),  # IPv4-compatible: not the same host
    (["10.0.0.0/8"], "2002:a01:203::1", False),  # 6to4
    (["10.0.0.0/8"], "64:ff9b::a01:203", False),  # NAT64
    (["2001:db8::/32"], "2001:db8::1", True),
    (["2001:db8::/32"], "2001:db9::1", False),
    (["fe80::/10"], "fe80::1%eth0", True),  # REMOTE_ADDR with a zone: no 500
])
def test_G_networks_ipv6(admin_user, networks, remote, allowed):
    create_secret(admin_user, name="PG", key="POSTGRES_PASSWORD", value="v",
                  profile="development")
    _, key = create_service_token(admin_user, name="n", profiles=["development"],
                                  allowed_networks=networks)
    response = with_key(key, REMOTE_ADDR=remote).get(SECRETS)
    assert response.status_code == (200 if allowed else 403), response.status_code


# --- H: scope including default; commands with --as ----------------------------------------


def test_H_run_with_secrets_as_a_production_reader_needs_default_for_fallbacks(
        admin_user, tmp_path):
    reader = User.objects.create_user("rita", "", "x")
    add_grant(admin_user, reader, "production", "reader")
    create_secret(admin_user, name="PG", key="POSTGRES_PASSWORD", value="PROD",
                  profile="production")
    create_secret(admin_user, name="AWS", key="AWS_SECRET_ACCESS_KEY", value="DEFAULT-AWS",
                  profile="default")
    out = tmp_path / "env.txt"
    with pytest.raises((CommandError, SystemExit)) as caught:
        call_command("run_with_secrets", "--profile", "production", "--as", "rita", "--",
                     "sh", "-c", f"env > {out}")
    assert not out.exists() or "DEFAULT-AWS" not in out.read_text()
    assert isinstance(caught.value, CommandError)


def test_H_export_as_a_dev_reader_cannot_include_other_profiles(admin_user):
    reader = User.objects.create_user("rita", "", "x")
    add_grant(admin_user, reader, "development", "reader")
    create_secret(admin_user, name="PG", key="POSTGRES_PASSWORD", value="PROD",
                  profile="production")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("export_secrets", "--as", "rita", stdout=out, stderr=io.StringIO())
    assert "PROD" not in out.getvalue()


def test_H_token_scoped_to_development_and_default_with_patterns(admin_user):
    create_secret(admin_user, name="PG", key="POSTGRES_PASSWORD", value="DEF-PG", profile="default")
    create_secret(admin_user, name="AWS", key="AWS_SECRET_ACCESS_KEY", value="DEF-AWS",
                  profile="default")
    _, key = create_service_token(admin_user, name="n", profiles=["development", "default"],
                                  keys=["POSTGRES_*"])
    client = with_key(key)
    listed = {row["key"] for row in client.get(SECRETS).json()["results"]}
    assert listed == {"POSTGRES_PASSWORD"}
    aws = Secret.objects.get(key="AWS_SECRET_ACCESS_KEY")
    assert client.post(f"{SECRETS}{aws.pk}/decrypt/").status_code == 403
    assert client.get(f"{SECRETS}{aws.pk}/").status_code == 403
    assert client.post(f"{SECRETS}ssh-tunnel/", {"profile": "default"},
                       format="json").status_code == 403


# --- I: hostile shapes on the admin endpoints the fixes touched --------------------------


HOSTILE = [None, 0, -1, 10**30, 1.5, True, "", "x" * 5000, [], [[]], [None], [{"a": 1}],
           {"a": 1}, ["production", ["production"]], ["\x00"], ["10.0.0.0/8\x00"],
           ["::ffff:10.0.0.0/200"], ["10.0.0.0/8", 167772160], ["1" * 4000]]


@pytest.mark.parametrize("field", ["name", "profiles", "keys", "key_patterns",
                                   "allowed_networks", "expires_in_days"])
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_I_service_token_create_hostile(admin_user, field, value):
    body = {"name": "n", "profiles": ["development"], field: value}
    response = as_user(admin_user).post("/api/v1/service-tokens/", body, format="json")
    assert response.status_code in (201, 400), (response.status_code, response.content[:300])


@pytest.mark.parametrize("field", ["user", "group", "profile", "role"])
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_I_grant_create_hostile(admin_user, member, field, value):
    body = {"user": member.username, "profile": "development", "role": "reader", field: value}
    response = as_user(admin_user).post("/api/v1/grants/", body, format="json")
    assert response.status_code in (200, 201, 400), (response.status_code, response.content[:300])


@pytest.mark.parametrize("body", [[], "x", 5, None, {"profile": "development", "name": None},
                                  {"profile": ["development"]}, {"profile": {"a": 1}}])
def test_I_ssh_tunnel_bodies(admin_user, body):
    response = as_user(admin_user).post(f"{SECRETS}ssh-tunnel/", body, format="json")
    assert response.status_code in (400, 403, 404), (response.status_code, response.content[:300])


# --- J: CLI import --as an editor resolves the server's environment into their profile ----


def test_J_cli_import_as_a_dev_editor_reads_the_servers_environment(
        admin_user, dev_editor, tmp_path, monkeypatch):
    """The fix says the environment counts as `default`; an editor of development alone
    (no grant on default) imports env_var templates and then decrypts them."""
    monkeypatch.setenv("SSH_PASSWORD", "SERVER-ENV-SSH-PASSWORD")
    source = tmp_path / "in.yaml"
    source.write_text("development:\n  STOLEN: \"{{ env_var('SSH_PASSWORD') }}\"\n")
    with contextlib.suppress(CommandError):
        call_command("import_secrets", str(source), "--as", "ed", stdout=io.StringIO(),
                     stderr=io.StringIO())
    stolen = Secret.objects.filter(name="STOLEN").first()
    if stolen is not None:
        value = as_user(dev_editor).post(f"{SECRETS}{stolen.pk}/decrypt/").json().get("value")
        assert value != "SERVER-ENV-SSH-PASSWORD"


def test_J_versions_made_by_import_record_the_profile(admin_user, dev_editor):
    create_secret(admin_user, name="PG", key="POSTGRES_PASSWORD", value="a", profile="development")
    response = as_user(dev_editor).post(
        f"{SECRETS}import/?profile=development", b"POSTGRES_PASSWORD: b\nNEW_KEY: c\n",
        content_type="application/yaml")
    assert response.status_code == 200, response.content
    assert set(SecretVersion.objects.values_list("profile", flat=True)) == {"development"}


# --- K: a trusted proxy reached over a dual-stack socket (IPv4-mapped REMOTE_ADDR) ---------


def test_K_mapped_proxy_address_is_not_trusted_so_every_client_looks_internal(
        admin_user, settings):
    """gunicorn/uvicorn bound to [::] see an IPv4 proxy as ::ffff:10.0.0.5. check_network
    unmaps addresses, client_ip's trusted-proxy test does not: X-Forwarded-For is ignored and
    every request, from anywhere, is the proxy's (inside 10.0.0.0/8)."""
    settings.SECRETS_TRUSTED_PROXIES = ["10.0.0.5"]
    create_secret(admin_user, name="PG", key="POSTGRES_PASSWORD", value="PROD-PG",
                  profile="production")
    _, key = create_service_token(admin_user, name="etl", profiles=["production"],
                                  allowed_networks=["10.0.0.0/8"])
    # The proxy appends the real client, an internet address.
    client = with_key(key, REMOTE_ADDR="::ffff:10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    response = client.get(SECRETS)
    assert response.status_code == 403, "a client at 203.0.113.9 passed a 10.0.0.0/8 restriction"
    row = AuditLog.objects.filter(action="DENIED").last()
    assert row is not None and row.ip_address == "203.0.113.9"
