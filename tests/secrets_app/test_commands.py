"""The operator commands (R6.1, R15, R16): import_secrets, resolve_credential, export_secrets,
run_with_secrets."""

import io
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import example, given, settings
from hypothesis import strategies as st

from audit_app.models import AuditLog
from secrets_app.formats.dotenv import parse_dotenv
from secrets_app.formats.export import to_dotenv, to_yaml
from secrets_app.formats.yaml import parse_yaml
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret
from tests.helpers import rolled_back

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "io_config.yaml"


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


class TestImportSecrets:
    def test_R6_6_prints_the_summary_and_fails_when_entries_failed(self, monkeypatch):
        monkeypatch.setenv("ETL_FIXTURE_PG_USER", "etl_user")
        out = io.StringIO()
        with pytest.raises(CommandError, match="3 entries failed"):
            call_command("import_secrets", str(FIXTURE), stdout=out)
        text = out.getvalue()
        assert "12 created, 0 updated, 0 unchanged, 2 skipped, 3 failed" in text
        assert "qa/POSTGRES_HOST (line 35): unknown profile 'qa'" in text
        assert "default/MYSQL_USER (line 17): the value is null" in text
        assert Secret.objects.count() == 12
        entry = AuditLog.objects.filter(action="CREATE").first()
        assert entry.channel == "cli" and entry.username == ""

    def test_a_clean_file_exits_zero(self, tmp_path):
        path = tmp_path / "io_config.yaml"
        path.write_text("default:\n  API_TOKEN: abc\n")
        out, _ = run("import_secrets", str(path))
        assert "1 created" in out

    def test_dash_reads_standard_input(self, monkeypatch):
        stdin = io.TextIOWrapper(io.BytesIO(b"staging:\n  API_TOKEN: piped\n"))
        monkeypatch.setattr(sys, "stdin", stdin)
        out, _ = run("import_secrets", "-")
        assert "Imported standard input: 1 created" in out
        assert Secret.objects.get().profile == "staging"

    def test_dry_run_stores_nothing(self, tmp_path):
        path = tmp_path / "f.yaml"
        path.write_text("default:\n  API_TOKEN: abc\n")
        out, _ = run("import_secrets", str(path), "--dry-run")
        assert "Dry run of" in out and "1 created" in out and "Nothing was stored" in out
        assert not Secret.objects.exists()

    def test_as_user_records_who(self, tmp_path, secrets_admin):
        path = tmp_path / "f.yaml"
        path.write_text("default:\n  API_TOKEN: abc\n")
        run("import_secrets", str(path), "--as", "alice")
        assert Secret.objects.get().created_by == secrets_admin
        assert AuditLog.objects.filter(username="alice", action="CREATE").exists()

    def test_as_user_needs_the_rights_to_import(self, tmp_path, member):
        # --as takes any active user; their grants decide (R18): bob has none.
        path = tmp_path / "f.yaml"
        path.write_text("default:\n  API_TOKEN: abc\n")
        with pytest.raises(CommandError, match="Refused: bob may not do this"):
            run("import_secrets", str(path), "--as", "bob")
        assert not Secret.objects.exists()
        with pytest.raises(CommandError, match="No user named"):
            run("import_secrets", str(path), "--as", "nobody")

    def test_invalid_structure_is_a_clear_error(self, tmp_path):
        path = tmp_path / "f.yaml"
        path.write_text("- a\n- b\n")
        with pytest.raises(CommandError, match="Invalid YAML structure: the top level"):
            run("import_secrets", str(path))

    def test_a_missing_file_is_a_clear_error(self, tmp_path):
        with pytest.raises(CommandError, match=r"Cannot read .*No such file"):
            run("import_secrets", str(tmp_path / "absent.yaml"))


class TestResolveCredential:
    def test_R15_prints_the_source_only(self, admin_user):
        create_secret(admin_user, name="API_TOKEN", key="API_TOKEN", value="RESOLVE-CANARY")
        out, err = run("resolve_credential", "API_TOKEN")
        assert out.strip() == "API_TOKEN [default]: database"
        assert "RESOLVE-CANARY" not in out + err
        assert not AuditLog.objects.filter(action="DECRYPT").exists()

    def test_R15_reveal_prints_the_value_and_is_audited(self, admin_user):
        secret = create_secret(admin_user, name="API_TOKEN", key="API_TOKEN",
                               value="RESOLVE-CANARY", profile="staging")
        out, err = run("resolve_credential", "API_TOKEN", "--profile", "staging", "--reveal")
        assert out.strip() == "RESOLVE-CANARY"
        assert "database" in err
        entry = AuditLog.objects.get(action="DECRYPT")
        assert entry.secret_id == secret.pk
        assert entry.detail == {
            "via": "resolve_credential", "source": "database", "key": "API_TOKEN",
        }
        assert (entry.secret_name, entry.secret_profile, entry.channel) == (
            "API_TOKEN", "staging", "cli",
        )

    def test_not_found_exits_non_zero(self):
        with pytest.raises(CommandError, match="not found in any configured source"):
            run("resolve_credential", "SURELY_NOT_SET_ANYWHERE")


TRICKY = [
    "{{ env_var('HOME') }}",
    "{{x}}",
    "multi\nline\nvalue\n",
    "quotes ' and \" both",
    "hash # not a comment",
    "a=b=c",
    "ключ 🔑 ünïcode",
    "  leading and trailing  ",
    "$HOME and ${PATH} stay literal",
    "back\\slash \\n not a newline",
    "tab\there\r\nwindows",
    "123",
    "true",
    "null",
    # No "": an empty value is refused on create and skipped on import (R17.9).
    "- looks like a list",
    "key: looks like a mapping",
]


class TestExportRoundTrip:
    @pytest.fixture
    def tricky_secrets(self, admin_user):
        for number, value in enumerate(TRICKY):
            create_secret(admin_user, name=f"TRICKY_{number}", key=f"TRICKY_{number}",
                          value=value, profile="staging")
        return {f"TRICKY_{number}": value for number, value in enumerate(TRICKY)}

    @pytest.mark.parametrize("file_format", ["yaml", "dotenv"])
    def test_R16_an_export_imports_back_unchanged(self, tricky_secrets, tmp_path, file_format):
        path = tmp_path / f"export.{'yaml' if file_format == 'yaml' else 'env'}"
        run("export_secrets", "--profile", "staging", "--format", file_format,
            "--output", str(path))
        assert path.stat().st_mode & 0o777 == 0o600
        out, _ = run("import_secrets", str(path), "--profile", "staging")
        assert f"0 created, 0 updated, {len(TRICKY)} unchanged" in out

    def test_output_is_narrowed_to_600_and_symlinks_are_refused(self, tricky_secrets, tmp_path):
        existing = tmp_path / "existing.yaml"
        existing.write_text("old")
        existing.chmod(0o644)
        run("export_secrets", "--output", str(existing))
        assert existing.stat().st_mode & 0o777 == 0o600
        target = tmp_path / "elsewhere.yaml"
        link = tmp_path / "link.yaml"
        link.symlink_to(target)
        with pytest.raises(CommandError, match="Cannot write"):
            run("export_secrets", "--output", str(link))
        assert not target.exists()

    @pytest.mark.parametrize("file_format", ["yaml", "dotenv"])
    def test_R16_an_export_recreates_the_values_in_an_empty_installation(
        self, tricky_secrets, tmp_path, file_format
    ):
        path = tmp_path / f"export.{'yaml' if file_format == 'yaml' else 'env'}"
        run("export_secrets", "--profile", "staging", "--format", file_format,
            "--output", str(path))
        with rolled_back():
            for secret in Secret.objects.all():
                secret.delete()
            run("import_secrets", str(path), "--profile", "staging")
            restored = {s.name: s.value.reveal() for s in Secret.objects.all()}
        assert restored == tricky_secrets

    def test_R16_exports_are_audited_as_decrypts(self, tricky_secrets):
        out, _ = run("export_secrets", "--profile", "staging")
        assert "TRICKY_1" in out
        decrypts = AuditLog.objects.filter(action="DECRYPT")
        assert decrypts.count() == len(TRICKY)
        assert {entry.detail["via"] for entry in decrypts} == {"export_secrets"}

    def test_names_that_are_not_keys_are_left_out_with_a_warning(self, admin_user):
        create_secret(admin_user, name="Warehouse password", key="POSTGRES_PASSWORD", value="x")
        out, err = run("export_secrets")
        assert "Warehouse" not in out
        assert "Left out 'Warehouse password'" in err


# "" is skipped as "empty value"; the mask and a NUL are refused as values (R17.9).
values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1
).filter(lambda text: text != "********")
many = settings(max_examples=300)  # cheap, text-only properties: look harder


@many
@given(value=values)
@example(value="\x85")
@example(value="{{ env_var('HOME') }} and {{x}}")
@example(value="\u2028 \u2029 \ufeff \x01 \x1b")
def test_R16_yaml_round_trip_of_any_text(value):
    entries, skipped, failed = parse_yaml(to_yaml({"default": {"A_KEY": value}}), None)
    assert (skipped, failed) == ([], [])
    assert [(entry.key, entry.value) for entry in entries] == [("A_KEY", value)]


@many
@given(value=values)
@example(value="\x85 \u2028 \r\n")
def test_R16_dotenv_round_trip_of_any_text(value):
    entries, _, failed = parse_dotenv(to_dotenv({"A_KEY": value}), "default")
    assert failed == []
    assert [(entry.key, entry.value) for entry in entries] == [("A_KEY", value)]


class TestRunWithSecrets:
    def test_R16_the_command_sees_the_secrets_and_its_status_is_returned(self, admin_user,
                                                                         capfd):
        create_secret(admin_user, name="API_TOKEN", key="API_TOKEN", value="RUN-CANARY",
                      profile="production")
        create_secret(admin_user, name="SHARED_KEY", key="SHARED_KEY", value="from-default")
        script = (
            "import os, sys;"
            "ok = os.environ['API_TOKEN'] == 'RUN-CANARY' "
            "and os.environ['SHARED_KEY'] == 'from-default';"
            "sys.exit(7 if ok else 1)"
        )
        with pytest.raises(SystemExit) as exit_info:
            call_command("run_with_secrets", "--profile", "production", "--",
                         sys.executable, "-c", script)
        assert exit_info.value.code == 7
        captured = capfd.readouterr()
        assert "RUN-CANARY" not in captured.out + captured.err
        decrypts = AuditLog.objects.filter(action="DECRYPT")
        assert {(entry.secret_name, entry.detail["via"]) for entry in decrypts} == {
            ("API_TOKEN", "run_with_secrets"), ("SHARED_KEY", "run_with_secrets"),
        }

    def test_a_missing_command_is_a_clear_error(self):
        with pytest.raises(CommandError, match="Command not found"):
            call_command("run_with_secrets", "--", "surely-not-a-command-kozmo")
        with pytest.raises(CommandError, match="Give the command"):
            call_command("run_with_secrets")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_import_shows_a_progress_bar_on_a_terminal(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("default:\n" + "".join(f"  KEY_{n}: v\n" for n in range(1200)))
    terminal = _Terminal()
    call_command("import_secrets", str(path), stdout=terminal)
    assert "[##############################] 1200/1200" in terminal.getvalue()
    plain = io.StringIO()
    path.write_text("default:\n  KEY_0: changed\n")
    call_command("import_secrets", str(path), stdout=plain)
    assert "[" not in plain.getvalue()  # no bar when the output is a file or a pipe
