"""What the outside security review of issue 11 found, each held where it is caused: the audit
writer stores any request text as bounded, escaped text (R10, R12); env_var never reads the
server's configuration (R17.1); an import is charged and checked before its file is read
(R2.5, R10.3, R17.2); a token is revoked once (R14); the token admin never filters on the
digest; a dotenv line that may be a value is not echoed (R6)."""

import os

import pytest
from django.core.exceptions import ValidationError

from audit_app.log import verify_chain
from audit_app.models import AuditAction, AuditLog
from secrets_app.access.models import ApiToken
from secrets_app.access.permissions import AdminRequired
from secrets_app.access.tokens import create_token, revoke_token
from secrets_app.formats import entries
from secrets_app.formats.dotenv import parse_dotenv
from secrets_app.formats.entries import InvalidImport, Problem
from secrets_app.formats.yaml import parse_yaml
from secrets_app.services.bulk import import_file
from secrets_app.services.reveal import RateLimited, reveal_ssh_tunnel

pytestmark = pytest.mark.django_db
TUNNEL = "/api/v1/secrets/ssh-tunnel/"


@pytest.mark.parametrize("name", [{"y": 2}, 12345, ["a"], "N" * 400,
                                  "\x1b]0;pwned\x07\x1b[2J\u202eEVIL"])
def test_R12_a_hostile_tunnel_name_never_breaks_the_audit_chain(member_api, admin_api, name):
    refused = member_api.post(TUNNEL, {"name": name}, format="json")
    assert refused.status_code == 403
    answered = admin_api.post(TUNNEL, {"name": name}, format="json")
    assert answered.status_code in (400, 404), answered.content
    report = verify_chain()
    assert report.ok, report.message
    for row in AuditLog.objects.filter(action=AuditAction.DECRYPT):
        assert row.secret_name.isprintable() and len(row.secret_name) <= 255


def test_R12_the_service_refuses_a_name_that_is_not_text(admin_user):
    with pytest.raises(ValidationError) as error:
        reveal_ssh_tunnel(admin_user, "default", {"y": 2})
    assert "name" in error.value.message_dict
    assert verify_chain().ok


@pytest.mark.parametrize("name", ["SECRETS_ENCRYPTION_KEY", "DJANGO_SECRET_KEY", "DATABASE_URL",
                                  "REDIS_URL", "KOZMO_ANYTHING"])
def test_R17_1_env_var_never_reads_the_servers_configuration(monkeypatch, name):
    monkeypatch.setenv(name, "SERVER-CONFIG-CANARY")
    text = f"default:\n  LEAK: \"{{{{ env_var('{name}') }}}}\"\n"
    stored, _, failed = parse_yaml(text, None, resolve_env_vars=True)
    assert stored == []
    assert [problem.key for problem in failed] == ["LEAK"]
    assert "server's own configuration" in failed[0].reason
    assert "SERVER-CONFIG-CANARY" not in str(failed)


def test_R17_1_env_var_never_reads_what_only_dotenv_set(monkeypatch, settings):
    monkeypatch.setenv("ONLY_IN_DOTENV", "DOTENV-CANARY")
    settings.DOTENV_ONLY_NAMES = frozenset({"ONLY_IN_DOTENV"})
    _, _, failed = parse_yaml("A_KEY: \"{{ env_var('ONLY_IN_DOTENV') }}\"\n", None)
    assert "server's own configuration" in failed[0].reason
    assert os.environ["ONLY_IN_DOTENV"] == "DOTENV-CANARY"


def test_R2_5_a_non_admins_import_is_refused_and_audited_before_the_file_is_read(
        member, monkeypatch):
    monkeypatch.setattr("secrets_app.services.bulk.read_text", pytest.fail)
    with pytest.raises(AdminRequired) as refused:
        import_file(b"A_KEY=1\n", user=member, dry_run=True, filename=".env")
    assert "Admin privileges required" in str(refused.value)
    row = AuditLog.objects.get(action=AuditAction.DECRYPT, allowed=False)
    assert (row.secret_name, row.detail["reason"]) == ("import", "not an admin")


def test_R10_3_an_import_past_the_budget_is_refused_before_the_file_is_read(
        admin_user, settings, monkeypatch):
    settings.SECRETS_DECRYPT_RATE = "1/m"
    import_file(b"A_KEY=1\n", user=admin_user, dry_run=True, filename=".env")
    monkeypatch.setattr("secrets_app.services.bulk.read_text", pytest.fail)
    with pytest.raises(RateLimited):
        import_file(b"A_KEY=1\n", user=admin_user, dry_run=True, filename=".env")


def test_R6_a_file_of_junk_is_refused_whole_before_its_report_grows(admin_user):
    junk = "!\n" * (entries.MAX_PROBLEMS + 10)
    with pytest.raises(InvalidImport, match="is this the right file"):
        import_file(junk.encode(), user=admin_user, dry_run=True, filename=".env")
    with pytest.raises(InvalidImport):
        parse_dotenv(junk, "default")


def test_R14_two_revokes_of_one_token_write_one_audit_row(admin_user):
    token, _ = create_token(admin_user, "raced")
    first, second = ApiToken.objects.get(pk=token.pk), ApiToken.objects.get(pk=token.pk)
    revoke_token(first, admin_user)
    revoke_token(second, admin_user)  # a stale copy: it still thinks the token is live
    assert AuditLog.objects.filter(action=AuditAction.TOKEN_REVOKE).count() == 1
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_R14_the_token_admin_never_filters_on_the_digest(client, admin_user):
    token, _ = create_token(admin_user, "probe")
    client.force_login(admin_user)
    client.raise_request_exception = False
    url = "/admin/secrets_app/apitoken/"
    assert client.get(url).status_code == 200
    for lookup in ("digest__startswith", "digest", "digest__regex"):
        # A refused lookup is Django's DisallowedModelAdminLookup: 400, nothing listed.
        response = client.get(url, {lookup: token.digest[:6]})
        assert response.status_code == 400, lookup
        assert b"probe" not in response.content


def test_R6_a_mixed_case_line_that_may_be_a_value_is_not_echoed():
    pem_line = "QyNTUxOQAAACDhK9mQwS3cretHunter2SecretMaterialXYZabcdEFGHijklMN"
    _, _, failed = parse_dotenv(f"{pem_line}==\nlower_key=1\n", "default")
    assert pem_line not in str(failed)
    assert [problem.key for problem in failed] == ["(line 1)", "lower_key"]


def test_R6_a_problem_names_its_line_once():
    assert str(Problem("default", "(line 2)", "not a KEY=value line", 2)) == (
        "default/(line 2): not a KEY=value line")
    assert str(Problem("default", "A_KEY", "bad", 3)) == "default/A_KEY (line 3): bad"
