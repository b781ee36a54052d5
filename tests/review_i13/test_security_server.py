"""Outside security review of issue 13 (R20, credentials for programs): server-side findings.
Each test states the behaviour the product should have and FAILS while the hole is open."""

import contextlib
import io
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from audit_app.models import AuditAction, AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.service_tokens import create_service_token
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

URL = "/api/v1/credentials/"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def default_reader(django_user_model, admin_user):
    """A plain person with a reader grant on `default` only: what a pipeline owner gets."""
    user = django_user_model.objects.create_user("dora", password="dora-password")
    add_grant(admin_user, user, "default", "reader")
    client = APIClient()
    client.force_authenticate(user)
    return user, client


# --- F1 (high): the server's own AWS sign-in through the config file's env_var templates ----


def test_F1_config_file_env_var_template_serves_the_servers_aws_secret_key(
        django_user_model, admin_user, aws, monkeypatch, settings, tmp_path):
    """R20.3: 'The environment source never answers with what the server signs in with (the
    AWS keys while the AWS source is on)'. The config file source resolves
    `{{ env_var('AWS_SECRET_ACCESS_KEY') }}` (exactly what Mage's io_config.yaml template,
    the documented SECRETS_CONFIG_FILE, holds) from the server's own environment, so the same
    key comes back with source=config_file to any reader of `default`."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SERVER-OWN-AWS-SECRET-CANARY")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "SERVER-OWN-AWS-KEY-ID-CANARY")
    config = tmp_path / "io_config.yaml"
    shutil.copy(FIXTURES / "mage_io_config.yaml", config)
    settings.SECRETS_CONFIG_FILE = str(config)
    _, client = default_reader(django_user_model, admin_user)
    response = client.get(URL, {"keys": "AWS_SECRET_ACCESS_KEY,AWS_ACCESS_KEY_ID"})
    assert response.status_code == 200, response.content
    assert "CANARY" not in response.content.decode(), response.json()


def test_F1b_config_file_env_var_template_serves_pgpassword_on_postgresql(
        django_user_model, admin_user, monkeypatch, settings, tmp_path):
    """The same for libpq's PGPASSWORD (the server's database password) under any name."""
    monkeypatch.setenv("PGPASSWORD", "SERVER-PG-PASSWORD-CANARY")
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE",
                        "django.db.backends.postgresql")
    config = tmp_path / "io_config.yaml"
    config.write_text("default:\n  WAREHOUSE_PASSWORD: \"{{ env_var('PGPASSWORD') }}\"\n")
    settings.SECRETS_CONFIG_FILE = str(config)
    _, client = default_reader(django_user_model, admin_user)
    response = client.get(URL, {"keys": "WAREHOUSE_PASSWORD"})
    assert response.status_code == 200, response.content
    assert "CANARY" not in response.content.decode(), response.json()


# --- F2 (medium): names only `.env` put into os.environ are served by the environment source


def test_F2_dotenv_only_names_are_served_by_the_environment_source(
        django_user_model, admin_user, monkeypatch, settings):
    """settings.py: 'DOTENV_ONLY_NAMES: names that only .env put into os.environ: they are
    server configuration'. Children (R17.1) and env_var templates (is_readable) leave them
    out; the credentials endpoint's environment source does not check them."""
    monkeypatch.setenv("SMTP_PASSWORD", "FROM-THE-SERVERS-DOTENV-CANARY")
    settings.DOTENV_ONLY_NAMES = frozenset({"SMTP_PASSWORD"})
    _, client = default_reader(django_user_model, admin_user)
    response = client.get(URL, {"keys": "SMTP_PASSWORD"})
    assert response.status_code == 200, response.content
    assert "CANARY" not in response.content.decode(), response.json()


# --- F3 (medium): proxy credentials the AWS source signs in to its proxy with --------------


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"])
def test_F3_the_servers_proxy_credentials_are_served(
        django_user_model, admin_user, aws, monkeypatch, name):
    """With the AWS source on, boto3 reaches AWS through HTTPS_PROXY (user:password@proxy):
    that is the server's own sign-in material from its environment, like the AWS keys."""
    monkeypatch.setenv(name, "http://svc-kozmo:PROXY-PASSWORD-CANARY@proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # moto stays reachable
    _, client = default_reader(django_user_model, admin_user)
    response = client.get(URL, {"keys": name})
    assert response.status_code == 200, response.content
    assert "CANARY" not in response.content.decode(), response.json()


# --- F4 (low): PostGIS is PostgreSQL too ------------------------------------------------------


def test_F4_pgpassword_is_served_when_the_engine_is_postgis(
        django_user_model, admin_user, monkeypatch, settings):
    """is_server_sign_in tests `"postgresql" in ENGINE`; DATABASE_URL=postgis://... gives
    django.contrib.gis.db.backends.postgis, which libpq signs in for all the same."""
    monkeypatch.setenv("PGPASSWORD", "SERVER-PG-CANARY")
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE",
                        "django.contrib.gis.db.backends.postgis")
    _, client = default_reader(django_user_model, admin_user)
    response = client.get(URL, {"keys": "PGPASSWORD"})
    assert response.status_code == 200, response.content
    assert "CANARY" not in response.content.decode(), response.json()


# --- F5 (low): existence oracle through the `default` refusal ----------------------------


def test_F5_a_token_without_default_learns_which_server_env_vars_exist(
        admin_user, monkeypatch):
    """A service token for production only asks for names production lacks: a name set in the
    server's environment is a 403 naming it 'in default', one set nowhere is 'missing'. The
    token maps the server's environment (and default's keys, which it may not even list)."""
    monkeypatch.setenv("SOME_SERVER_VARIABLE", "x")
    _, key = create_service_token(admin_user, name="prod-only", profiles=["production"])
    client = bearer(key)
    present = client.get(URL, {"profile": "production", "keys": "SOME_SERVER_VARIABLE"})
    absent = client.get(URL, {"profile": "production", "keys": "NOT_SET_ANYWHERE_XYZ"})
    # Fixed: a caller who may not read `default` gets no fallback (nor the environment,
    # which counts as `default`): both names are simply missing.
    assert present.status_code == 200, present.content
    # The two answers must not differ in a way that says which name is set.
    assert absent.status_code == present.status_code, (absent.status_code, absent.json())
    assert present.json()["missing"] == ["SOME_SERVER_VARIABLE"]
    assert absent.json()["missing"] == ["NOT_SET_ANYWHERE_XYZ"]


# --- F6 (low): probing for the server's own keys leaves no trace ---------------------------


def test_F6_asking_for_the_encryption_key_is_not_audited(django_user_model, admin_user):
    """A person or token asking for SECRETS_ENCRYPTION_KEY / DJANGO_SECRET_KEY gets a 400 and
    no audit row at all: the most telling probe there is leaves nothing in the log (R2.5:
    decrypt attempts are all audited, whether granted or refused)."""
    _, client = default_reader(django_user_model, admin_user)
    before = AuditLog.objects.count()
    response = client.get(URL, {"keys": "SECRETS_ENCRYPTION_KEY,DJANGO_SECRET_KEY"})
    assert response.status_code == 400
    assert AuditLog.objects.count() == before + 1, "no audit row for the refused probe"


# --- F7 (low): `resolve_credential --reveal --as` serves the names R20.3 never serves -------


def test_F7_reveal_as_a_user_serves_a_config_file_database_url(
        django_user_model, admin_user, settings, tmp_path):
    """R20.3 says DATABASE_URL & co. are never served, whatever source holds them; the
    --format path refuses them, but --reveal (with --as, in a person's scope) prints them."""
    default_reader(django_user_model, admin_user)
    config = tmp_path / "io_config.yaml"
    config.write_text("default:\n  DATABASE_URL: postgres://kozmo:DB-URL-CANARY@db/kozmo\n")
    settings.SECRETS_CONFIG_FILE = str(config)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.suppress(CommandError):
        call_command("resolve_credential", "DATABASE_URL", "--reveal", "--as", "dora",
                     stdout=out, stderr=err)
    assert "CANARY" not in out.getvalue(), out.getvalue()


# --- F8 (low): a value that cannot be opened leaves no audit row ---------------------------


def test_F8_a_credentials_request_that_fails_to_decrypt_is_not_audited(
        admin_api, admin_user, use_keys):
    """docs/api.md, Errors: 500 'Failed to decrypt secret' is 'logged and audited, never the
    value'; R2.5/R20.5: every decrypt attempt is audited. The one-secret decrypt writes a
    DECRYPT row with outcome=failed; fetch_credentials raises DecryptFailed before _record,
    so the request that read other values (and spent a decrypt) leaves no row at all."""
    key_a = "kozmo-review-key-A-0123456789-abcdefghij"
    key_b = "kozmo-review-key-B-0123456789-abcdefghij"
    use_keys(key_a)
    create_secret(admin_user, name="old", key="OLD_VALUE", value="written under A")
    use_keys(key_b)
    create_secret(admin_user, name="new", key="NEW_VALUE", value="written under B")
    before = AuditLog.objects.filter(action=AuditAction.DECRYPT).count()
    response = admin_api.get(URL, {"keys": "NEW_VALUE,OLD_VALUE"})
    assert response.status_code == 500, response.content
    assert AuditLog.objects.filter(action=AuditAction.DECRYPT).count() == before + 1, (
        "the failed credentials request is not in the audit log")


# --- F9 (low): a refused request records only 50 of the keys it probed ---------------------


def test_F9_a_refusal_audits_only_the_first_50_refused_keys(admin_user):
    """_refuse(): detail['keys'] = keys[:50]. A service token probing 500 names outside its
    patterns leaves 450 of them out of the log (the row does not even say it was cut)."""
    _, key = create_service_token(admin_user, name="narrow", profiles=["production"],
                                  keys=["POSTGRES_*"])
    names = [f"PROBE_{n:03d}" for n in range(500)]
    response = bearer(key).get(URL, {"profile": "production", "keys": ",".join(names)})
    assert response.status_code == 403
    row = AuditLog.objects.filter(allowed=False).order_by("-sequence").first()
    recorded = set(row.detail.get("keys", []))
    assert recorded == set(names) or row.detail.get("keys_refused") == 500, (
        f"{len(recorded)} of 500 refused keys in the audit row, and no count")


# --- F10 (low): the "who read secret X" index is outside the hash chain -----------------


def test_F10_deleting_an_audit_secret_read_row_hides_the_read_and_the_chain_says_intact(
        admin_api, admin_user):
    """R20.5: '?secret=<id>' finds a credentials request by AuditSecretRead. Those rows are
    not hashed, and verify_chain never compares them with the row's detail.secret_ids: one
    DELETE (the threat the hash chain exists for) removes the read from 'who read X' and the
    audit check still says the log is intact."""
    from django.db import connection

    from audit_app.log import verify_chain
    from audit_app.models import AuditSecretRead

    secret = create_secret(admin_user, name="target", key="TARGET_KEY", value="v")
    assert admin_api.get(URL, {"keys": "TARGET_KEY"}).status_code == 200
    assert AuditSecretRead.objects.filter(secret_id=secret.pk).exists()
    before = admin_api.get("/api/v1/audit/", {"secret": str(secret.pk), "action": "DECRYPT"})
    assert before.json()["results"], "the filter finds the read before the DELETE"
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditSecretRead._meta.db_table} WHERE secret_id = %s",
                       [secret.pk.hex if connection.vendor == "sqlite" else secret.pk])
    found = admin_api.get("/api/v1/audit/", {"secret": str(secret.pk), "action": "DECRYPT"})
    report = verify_chain()
    hidden = found.status_code == 200 and not found.json().get("results", found.json())
    assert not (hidden and report.ok), (
        "the credentials read vanished from ?secret= and verify_chain says: " + report.message)
