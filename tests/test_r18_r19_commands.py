"""The commands of R18 and R19: `grant` and `create_service_token`, audited on channel cli;
and --as, which takes any active user whose grants then decide (export_secrets,
import_secrets, run_with_secrets, resolve_credential --reveal)."""

import io
import sys

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.models import ProfileGrant, ServiceToken
from secrets_app.access.tokens import digest_of
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def rita(db):
    return User.objects.create_user("rita", None, "rita-password")


@pytest.fixture
def team(db):
    return Group.objects.create(name="data-eng")


# --- grant --------------------------------------------------------------------------------


def test_R18_grant_adds_lists_and_removes_audited_on_cli(rita, team):
    out, _ = run("grant", "--user", "rita", "--profile", "development", "--role", "reader")
    assert out.strip() == "Granted: rita: reader on development."
    out, _ = run("grant", "--group", "data-eng", "--profile", "production", "--role", "editor")
    assert out.strip() == "Granted: group data-eng: editor on production."
    out, _ = run("grant", "--user", "rita", "--profile", "development", "--role", "reader")
    assert out.strip() == "Unchanged: rita: reader on development already."

    table, _ = run("grant")
    lines = table.splitlines()
    assert lines[0].split() == ["PROFILE", "ROLE", "WHO", "GRANTED", "BY", "SINCE"]
    assert lines[1].split()[:3] == ["development", "reader", "rita"]
    assert "(command line)" in lines[1]
    assert lines[2].split()[:4] == ["production", "editor", "group", "data-eng"]

    out, _ = run("grant", "--user", "rita", "--profile", "development", "--remove")
    assert out.strip() == "Removed: rita: reader on development."
    out, _ = run("grant", "--user", "rita", "--profile", "development", "--remove")
    assert out.strip() == "Nothing to remove: rita holds no role on development."
    assert list(ProfileGrant.objects.values_list("group__name", "profile")) == [
        ("data-eng", "production")]

    rows = list(AuditLog.objects.filter(action__startswith="GRANT_").order_by("sequence"))
    assert [(r.action, r.channel, r.user_id, r.username, r.secret_profile) for r in rows] == [
        ("GRANT_ADD", "cli", None, "", "development"),
        ("GRANT_ADD", "cli", None, "", "production"),
        ("GRANT_REMOVE", "cli", None, "", "development"),
    ]
    assert rows[0].detail == {"user": "rita", "profile": "development", "role": "reader"}
    assert rows[1].detail == {"group": "data-eng", "profile": "production", "role": "editor"}


def test_R18_grant_with_no_grants_says_how_to_add_one(db):
    out, _ = run("grant")
    assert out.startswith("No grants.")


def test_R18_grant_as_an_admin_records_them(admin_user, rita):
    run("grant", "--user", "rita", "--profile", "staging", "--role", "editor", "--as", "root")
    assert ProfileGrant.objects.get().created_by == admin_user
    assert AuditLog.objects.get(action="GRANT_ADD").username == "root"
    with pytest.raises(CommandError, match="'rita' is not a secrets admin"):
        run("grant", "--user", "rita", "--profile", "staging", "--role", "reader",
            "--as", "rita")


@pytest.mark.parametrize("args, message", [
    (["--user", "nobody", "--profile", "development", "--role", "reader"],
     "--user: No user named 'nobody'."),
    (["--group", "nobody", "--profile", "development", "--role", "reader"],
     "--group: No group named 'nobody'."),
    (["--user", "rita", "--profile", "prod", "--role", "reader"],
     "--profile: Choose one of default, development, staging, production."),
    (["--user", "rita", "--profile", "development", "--role", "owner"],
     "--role: Choose one of reader, editor."),
    (["--user", "rita", "--profile", "development"], "--role: Choose one of reader, editor."),
    (["--user", "rita", "--role", "reader"], "--profile: Choose one of"),
    (["--user", "rita", "--group", "data-eng", "--profile", "development", "--role", "reader"],
     "--user USERNAME or --group NAME (one of them)"),
    (["--profile", "development", "--role", "reader"], "--user USERNAME or --group NAME"),
    (["--user", "rita", "--remove"], "--profile: Choose one of"),
])
def test_R18_grant_says_what_to_fix(rita, team, args, message):
    with pytest.raises(CommandError) as error:
        run("grant", *args)
    assert message in str(error.value)
    assert not ProfileGrant.objects.exists()
    assert not AuditLog.objects.filter(action__startswith="GRANT_").exists()


# --- create_service_token -----------------------------------------------------------------


def test_R19_create_service_token_prints_the_key_alone_once(admin_user):
    create_secret(admin_user, name="pg", key="POSTGRES_PASSWORD", value="PG-VALUE",
                  profile="production")
    out, err = run("create_service_token", "etl", "--profile", "production",
                   "--key", "POSTGRES_*", "--network", "10.0.0.0/8", "--expires-days", "30")
    key = out.strip()
    assert out == f"{key}\n" and key.startswith("kzsvc_")
    token = ServiceToken.objects.get()
    assert token.digest == digest_of(key) and key not in err
    assert (token.profiles, token.key_patterns, token.allowed_networks, token.created_by) == (
        ["production"], ["POSTGRES_*"], ["10.0.0.0/8"], None)
    assert "Service token 'etl'" in err and "shown only now" in err
    assert "keys POSTGRES_*" in err and "from 10.0.0.0/8" in err
    row = AuditLog.objects.get(action="SERVICE_TOKEN_CREATE")
    assert (row.channel, row.user_id) == ("cli", None)
    assert key not in str(row.detail)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/secrets/", REMOTE_ADDR="10.0.0.7").status_code == 200


def test_R19_create_service_token_never_expires_and_names_its_creator(admin_user):
    _, err = run("create_service_token", "backup", "--profile", "staging",
                 "--profile", "production", "--never-expires", "--as", "root")
    token = ServiceToken.objects.get()
    assert token.expires_at is None and "expires: never" in err
    assert token.profiles == ["staging", "production"] and token.created_by == admin_user
    assert AuditLog.objects.get(action="SERVICE_TOKEN_CREATE").username == "root"


def test_R19_create_service_token_notes_its_id_and_a_missing_creator(admin_user):
    out, err = run("create_service_token", "etl", "--profile", "production")
    token = ServiceToken.objects.get()
    assert out.strip().startswith("kzsvc_") and len(out.strip().splitlines()) == 1
    assert f"(id {token.pk}, {token.prefix}…)" in err
    assert "Its audit rows name no admin; pass --as ADMIN to name one." in err
    _, err = run("create_service_token", "etl", "--profile", "production", "--as", "root")
    named = ServiceToken.objects.get(created_by=admin_user)
    assert f"(id {named.pk}, {named.prefix}…)" in err and "pass --as" not in err


@pytest.mark.parametrize("args, message", [
    (["etl"], "Give at least one --profile"),
    (["etl", "--profile", "prod"], "--profile: Unknown profile 'prod'"),
    (["etl", "--profile", "production", "--key", "postgres_*"], "--key: 'postgres_*' is not"),
    (["etl", "--profile", "production", "--network", "intranet"], "--network: 'intranet'"),
    (["etl", "--profile", "production", "--expires-days", "0"],
     "--expires-days must be 1-3650; use --never-expires"),
    ([" ", "--profile", "production"], "NAME: Give the token a name"),
    (["etl", "--profile", "production", "--as", "bob"], "'bob' is not a secrets admin"),
    (["etl", "--profile", "production", "--as", "nobody"], "No user named 'nobody'."),
])
def test_R19_create_service_token_says_what_to_fix(member, args, message):
    with pytest.raises(CommandError) as error:
        run("create_service_token", *args)
    assert message in str(error.value)
    assert not ServiceToken.objects.exists()


def test_R19_create_service_token_refuses_both_expiries(db):
    with pytest.raises(CommandError, match="not allowed with argument"):
        run("create_service_token", "etl", "--profile", "staging", "--expires-days", "3",
            "--never-expires")


# --- --as: the user's grants apply --------------------------------------------------------


@pytest.fixture
def reader(admin_user, rita):
    """rita, reader of development; secrets in development and production."""
    add_grant(admin_user, rita, "development", "reader")
    for profile in ("development", "production"):
        create_secret(admin_user, name="API_KEY", key="API_KEY",
                      value=f"{profile}-SECRET-VALUE", profile=profile)
    return rita


def test_R18_as_a_reader_exports_their_profile(reader):
    out, _ = run("export_secrets", "--profile", "development", "--format", "dotenv",
                 "--as", "rita")
    assert "development-SECRET-VALUE" in out
    rows = AuditLog.objects.filter(action="DECRYPT", allowed=True)
    assert list(rows.values_list("username", "channel")) == [("rita", "cli")]


@pytest.mark.parametrize("command", [
    ["export_secrets", "--profile", "production"],
    ["export_secrets"],  # every profile
    ["resolve_credential", "API_KEY", "--profile", "production", "--reveal"],
])
def test_R18_as_a_reader_is_refused_elsewhere_with_a_message(reader, command, capsys):
    with pytest.raises(CommandError) as error:
        run(*command, "--as", "rita")
    message = str(error.value)
    assert message.startswith("Refused: rita may not do this (no reader grant on production)")
    assert "manage.py grant" in message and "production-SECRET-VALUE" not in message
    assert "production-SECRET-VALUE" not in capsys.readouterr().out
    row = AuditLog.objects.get(action="DECRYPT", allowed=False)
    assert (row.username, row.channel) == ("rita", "cli")
    assert not AuditLog.objects.filter(action="DECRYPT", allowed=True).exists()


def test_R18_as_a_reader_runs_a_program_with_their_profile_only(reader, tmp_path):
    with pytest.raises(CommandError, match="Refused: rita may not do this"):
        run("run_with_secrets", "--profile", "production", "--as", "rita", "--",
            sys.executable, "-c", "pass")
    assert not AuditLog.objects.filter(action="DECRYPT", allowed=True).exists()


def test_R18_as_a_reader_imports_nothing(reader, tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("development:\n  NEW_KEY: v\n")
    with pytest.raises(CommandError, match=r"Refused: rita may not do this \(no editor grant"):
        run("import_secrets", str(path), "--as", "rita")
    assert not Secret.objects.filter(key="NEW_KEY").exists()


def test_R18_as_an_editor_imports_into_their_profile_only(admin_user, rita, tmp_path):
    add_grant(admin_user, rita, "development", "editor")
    path = tmp_path / "f.yaml"
    path.write_text("development:\n  NEW_KEY: v\nproduction:\n  NEW_KEY: v\n")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 entry failed"):
        call_command("import_secrets", str(path), "--as", "rita", stdout=out)
    assert "no editor grant on production" in out.getvalue()
    assert list(Secret.objects.filter(key="NEW_KEY").values_list("profile", flat=True)) == [
        "development"]


@pytest.mark.parametrize("command", [
    ["export_secrets", "--profile", "development", "--as", "bob"],
    ["resolve_credential", "API_KEY", "--profile", "development", "--reveal", "--as", "bob"],
    ["run_with_secrets", "--profile", "development", "--as", "bob", "--", sys.executable,
     "-c", "pass"],
])
def test_R18_as_a_plain_user_is_refused(reader, member, command):
    with pytest.raises(CommandError) as error:
        run(*command)
    assert str(error.value).startswith("Refused: bob may not do this (not an admin)")
    assert AuditLog.objects.filter(action="DECRYPT", allowed=False, username="bob").exists()


def test_R18_as_takes_active_users_only(reader):
    reader.is_active = False
    reader.save()
    with pytest.raises(CommandError, match="'rita' is deactivated"):
        run("export_secrets", "--profile", "development", "--as", "rita")
