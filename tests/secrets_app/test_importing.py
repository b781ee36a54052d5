"""YAML and dotenv import (R6.1 to R6.4, R6.6): the io_config.yaml fixture, limits, upsert,
atomicity, bulk queries."""

import json
from pathlib import Path

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from audit_app.context import audit_context
from audit_app.models import AuditLog
from secrets_app.access.permissions import AdminRequired
from secrets_app.formats.dotenv import detect_format, parse_dotenv
from secrets_app.formats.entries import InvalidImport, read_text
from secrets_app.formats.yaml import parse_yaml
from secrets_app.models import Secret, SecretVersion
from secrets_app.services.bulk import import_file

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "io_config.yaml"


@pytest.fixture
def fixture_env(monkeypatch):
    monkeypatch.setenv("ETL_FIXTURE_PG_USER", "etl_user")
    monkeypatch.delenv("ETL_FIXTURE_UNSET_VARIABLE", raising=False)


def import_fixture(user):
    """As `manage.py import_secrets` does: env_var templates resolved."""
    return import_file(FIXTURE.read_bytes(), user=user, resolve_env_vars=True)


def values(profile="default"):
    return {s.name: s.value.reveal() for s in Secret.objects.filter(profile=profile)}


class TestIoConfigFixture:
    def test_R6_2_every_case_is_counted(self, admin_user, fixture_env):
        summary = import_fixture(admin_user)
        assert summary.counts() == {
            "created": 12, "updated": 0, "unchanged": 0, "skipped": 2, "failed": 3,
        }
        assert {(p.profile, p.key) for p in summary.skipped} == {
            ("default", "MYSQL_PASSWORD"), ("default", "MYSQL_USER"),
        }
        reasons = {(p.profile, p.key): p.reason for p in summary.failed}
        unset = reasons[("default", "POSTGRES_PASSWORD")]
        assert "ETL_FIXTURE_UNSET_VARIABLE is not set" in unset
        assert "bad key name" in reasons[("default", "bad-key-name")]
        assert "unknown profile 'qa'" in reasons[("qa", "POSTGRES_HOST")]

    def test_R6_2_values_are_stored_as_text(self, admin_user, fixture_env):
        import_fixture(admin_user)
        stored = values()
        assert stored["AWS_ACCESS_KEY_ID"] == "AKIAEXAMPLEKEY000001"  # quoted
        assert stored["POSTGRES_HOST"] == "db.internal.example.com"  # unquoted
        assert stored["AWS_REGION"] == "eu-west-1"  # single-quoted
        assert stored["POSTGRES_PORT"] == "5432"  # integer
        assert stored["POSTGRES_CONNECT_TIMEOUT"] == "10.50"  # float, as written
        assert stored["POSTGRES_USER"] == "etl_user"  # env_var template, set
        assert stored["GOOGLE_LOCATION"] == "US"  # inline comment dropped
        assert "version" not in stored and "MYSQL_PASSWORD" not in stored
        key = json.loads(stored["GOOGLE_SERVICE_ACC_KEY"])  # nested mapping -> JSON
        assert key["type"] == "service_account"
        assert key["private_key"].startswith("-----BEGIN PRIVATE KEY-----\nMIIE")
        assert values("production")["SNOWFLAKE_PASSWORD"] == "p@ss: with # hash and = sign"

    def test_R6_2_category_is_inferred(self, admin_user, fixture_env):
        import_fixture(admin_user)
        categories = dict(Secret.objects.values_list("name", "category"))
        assert categories["AWS_REGION"] == "AWS"
        assert categories["GOOGLE_SERVICE_ACC_KEY"] == "GCP"
        assert categories["SNOWFLAKE_ACCOUNT"] == "Database"

    def test_R6_4_importing_twice_creates_nothing_and_only_audits(
        self, admin_user, fixture_env
    ):
        import_fixture(admin_user)
        versions, audit = SecretVersion.objects.count(), AuditLog.objects.count()
        second = import_fixture(admin_user)
        assert second.counts() == {
            "created": 0, "updated": 0, "unchanged": 12, "skipped": 2, "failed": 3,
        }
        assert SecretVersion.objects.count() == versions
        # Only the import's own row (R17.2: its "unchanged" answers whether values are right).
        new_rows = AuditLog.objects.order_by("sequence").values_list("action", flat=True)[audit:]
        assert list(new_rows) == ["IMPORT"]

    def test_R10_1_each_created_secret_is_audited_with_one_import_row(
        self, admin_user, fixture_env
    ):
        import_fixture(admin_user)
        assert AuditLog.objects.filter(action="CREATE", username="root").count() == 12
        (row,) = AuditLog.objects.filter(action="IMPORT")
        assert row.detail == {"created": 12, "updated": 0, "unchanged": 0, "skipped": 2,
                              "failed": 3, "dry_run": False, "profile": "all"}


class TestUpsert:
    def test_R6_4_a_changed_value_updates_and_keeps_a_version(self, admin_user):
        import_file(b"default:\n  API_TOKEN: one\n  OTHER: same\n", user=admin_user)
        summary = import_file(b"default:\n  API_TOKEN: two\n  OTHER: same\n", user=admin_user)
        assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 1)
        secret = Secret.objects.get(name="API_TOKEN")
        assert secret.value.reveal() == "two"
        assert [v.value.reveal() for v in secret.versions.all()] == ["two", "one"]
        update = AuditLog.objects.get(action="UPDATE")
        assert update.detail == {"via": "import", "changed": ["value"]}

    def test_R6_4_upsert_matches_name_and_profile(self, admin_user):
        import_file(b"default:\n  API_TOKEN: a\nstaging:\n  API_TOKEN: b\n", user=admin_user)
        assert Secret.objects.count() == 2
        assert values("staging") == {"API_TOKEN": "b"}

    def test_dry_run_counts_but_stores_nothing(self, admin_user):
        summary = import_file(b"default:\n  API_TOKEN: a\n", user=admin_user, dry_run=True)
        assert summary.created == 1 and summary.dry_run
        assert not Secret.objects.exists()
        # Audited as a dry run only (R17.2); no CREATE row.
        assert list(AuditLog.objects.values_list("action", flat=True)) == ["IMPORT"]

    def test_profile_option_selects_a_section(self, admin_user):
        data = b"default:\n  A_KEY: a\nstaging:\n  B_KEY: b\n"
        summary = import_file(data, user=admin_user, profile="staging")
        assert summary.created == 1
        assert list(Secret.objects.values_list("name", "profile")) == [("B_KEY", "staging")]

    def test_a_flat_file_goes_to_one_profile(self, admin_user):
        import_file(b"A_KEY: a\nB_KEY: 2\n", user=admin_user, profile="production")
        assert values("production") == {"A_KEY": "a", "B_KEY": "2"}

    def test_entries_outside_a_section_are_reported(self, admin_user):
        summary = import_file(b"default:\n  A_KEY: a\nSTRAY: x\n", user=admin_user)
        assert summary.created == 1
        assert "outside any profile section" in summary.failed[0].reason

    def test_unsupported_templates_fail_the_entry_without_quoting_it(self, admin_user):
        data = b"default:\n  A_KEY: \"pa{{ssw0rd}}x\"\n"
        summary = import_file(data, user=admin_user)
        assert "unsupported template" in summary.failed[0].reason
        assert "ssw0rd" not in str(summary.failed[0])

    def test_uploads_cannot_read_the_server_environment(self, admin_user, monkeypatch):
        """Only the command line resolves env_var: an upload through the API or console must
        not be able to copy SECRETS_ENCRYPTION_KEY into a secret and decrypt it."""
        data = b"default:\n  A_KEY: \"{{ env_var('SECRETS_ENCRYPTION_KEY') }}\"\n"
        summary = import_file(data, user=admin_user)
        assert summary.created == 0
        assert "resolved only by the manage.py import_secrets command" in summary.failed[0].reason
        with audit_context(channel="cli"):
            monkeypatch.setenv("SOME_VARIABLE", "resolved")
            data = b"default:\n  A_KEY: \"{{ env_var('SOME_VARIABLE') }}\"\n"
            assert import_file(data, user=admin_user).created == 1
        assert values() == {"A_KEY": "resolved"}

    def test_literal_values_are_never_resolved(self, admin_user):
        data = b"default:\n  A_KEY: !literal \"{{ env_var('HOME') }}\"\n"
        import_file(data, user=admin_user, resolve_env_vars=True)
        assert values() == {"A_KEY": "{{ env_var('HOME') }}"}

    def test_merge_keys_are_expanded(self, admin_user):
        data = (b"default: &base\n  A_KEY: a\n  B_KEY: b\n"
                b"production:\n  <<: *base\n  B_KEY: prod-b\n")
        summary = import_file(data, user=admin_user)
        assert (summary.created, summary.failed) == (4, [])
        assert values("production") == {"A_KEY": "a", "B_KEY": "prod-b"}

    @pytest.mark.parametrize(
        ("value", "stored"),
        [
            ("!!bool maybe", None),
            ("{a: !!timestamp garbage}", None),
            ("\n    2020-01-01: dated-key", '{"2020-01-01": "dated-key"}'),
            ("!!python/object:os.system x", "x"),  # a scalar's text; nothing is constructed
        ],
    )
    def test_odd_values_fail_their_entry_only_or_are_kept_as_text(
        self, admin_user, value, stored
    ):
        data = f"default:\n  A_KEY: {value}\n  B_KEY: fine\n".encode()
        summary = import_file(data, user=admin_user)
        assert values().get("B_KEY") == "fine"
        if stored is None:
            assert summary.failed[0].reason.startswith("the value cannot be read")
        else:
            assert values()["A_KEY"] == stored

    def test_R3_6_non_admins_cannot_import(self, member):
        with pytest.raises(AdminRequired):
            import_file(b"default:\n  A_KEY: a\n", user=member)
        assert not Secret.objects.exists()

    def test_an_anonymous_import_outside_the_command_line_is_refused(self):
        with pytest.raises(AdminRequired):
            import_file(b"default:\n  A_KEY: a\n", user=None)


class TestAtomicity:
    def test_a_database_error_halfway_leaves_nothing_changed(self, admin_user, monkeypatch):
        import_file(b"default:\n  KEEP_ME: original\n", user=admin_user)
        before = (Secret.objects.count(), SecretVersion.objects.count(), AuditLog.objects.count())

        def fail(*args, **kwargs):
            raise DatabaseError("disk full")

        # Secrets are already inserted and updated when the versions fail.
        monkeypatch.setattr(SecretVersion.objects, "bulk_create", fail)
        entries = "".join(f"  KEY_{n}: v{n}\n" for n in range(50))
        with pytest.raises(DatabaseError):
            import_file(
                f"default:\n  KEEP_ME: changed\n{entries}".encode(), user=admin_user
            )
        after = (Secret.objects.count(), SecretVersion.objects.count(), AuditLog.objects.count())
        assert after == before
        assert Secret.objects.get(name="KEEP_ME").value.reveal() == "original"


class TestLimits:
    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (b"- a\n- b\n", "not a list"),
            (b"just text\n", "not a single value"),
            (b"", "empty"),
            (b"default: [unclosed\n", "not valid YAML"),
            (b"default:\n  A_KEY: \xff\xfe\n", "not UTF-8"),
            (("a:\n" + "".join("  " * n + f"k{n}:\n" for n in range(1, 30))).encode(),
             "deeper than"),
            (b"[" * 10_000 + b"]" * 10_000, "deeper than"),
        ],
    )
    def test_bad_files_are_refused_with_a_reason(self, admin_user, data, reason):
        with pytest.raises(InvalidImport) as error:
            import_file(data, user=admin_user)
        assert str(error.value).startswith("Invalid YAML structure: ")
        assert reason in str(error.value)
        assert not Secret.objects.exists() and not AuditLog.objects.exists()

    def test_billion_laughs_is_refused(self, admin_user):
        lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        for level in "bcdefghi":
            previous = chr(ord(level) - 1)
            lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
        with pytest.raises(InvalidImport, match="aliases expand"):
            import_file("\n".join(lines).encode(), user=admin_user)

    @pytest.mark.parametrize(
        "data",
        [b"default:\n  A: &x [*x]\n", b"a: &x {b: *x}\n", b"default:\n  A: &x [a, [b, *x]]\n"],
    )
    def test_self_referencing_aliases_are_refused(self, admin_user, data):
        with pytest.raises(InvalidImport, match="refers to a value that contains it"):
            import_file(data, user=admin_user)

    def test_too_many_aliases_are_refused(self, admin_user):
        data = "default:\n  A_KEY: &x v\n" + "".join(f"  K{n}: *x\n" for n in range(150))
        with pytest.raises(InvalidImport, match="aliases"):
            import_file(data.encode(), user=admin_user)

    def test_a_few_aliases_are_fine(self, admin_user):
        data = b"default:\n  A_KEY: &x shared\n  B_KEY: *x\n"
        assert import_file(data, user=admin_user).created == 2

    def test_size_limit(self, admin_user, settings):
        settings.SECRETS_IMPORT_MAX_BYTES = 100
        with pytest.raises(InvalidImport, match="larger than 100 bytes"):
            import_file(b"default:\n  A_KEY: " + b"x" * 200 + b"\n", user=admin_user)

    def test_default_size_limit_is_5_mb(self, settings):
        assert settings.SECRETS_IMPORT_MAX_BYTES == 5_000_000

    def test_a_value_over_the_value_limit_fails_that_entry(self, admin_user, settings):
        settings.SECRETS_MAX_VALUE_BYTES = 10
        summary = import_file(b"default:\n  A_KEY: 12345678901\n  B_KEY: ok\n", user=admin_user)
        assert summary.created == 1
        assert "too long" in summary.failed[0].reason


class TestBulk:
    def test_queries_do_not_grow_with_the_entries(self, admin_user):
        def queries_for(count, prefix):
            data = "default:\n" + "".join(f"  {prefix}_{n}: v{n}\n" for n in range(count))
            with CaptureQueriesContext(connection) as captured:
                import_file(data.encode(), user=admin_user)
            return len(captured)

        few, many = queries_for(10, "A"), queries_for(400, "B")
        # Queries grow with batches (SQLite caps parameters per statement), never per row.
        assert many < 400 // 10
        assert many <= 3 * few

    def test_ten_thousand_entries_import_in_one_go(self, admin_user):
        data = "production:\n" + "".join(f"  KEY_{n}: value-{n}\n" for n in range(10_000))
        summary = import_file(data.encode(), user=admin_user)
        assert summary.created == 10_000
        assert Secret.objects.count() == 10_000
        assert AuditLog.objects.filter(action="CREATE").count() == 10_000


class TestDotenv:
    def test_quotes_escapes_and_comments(self):
        text = (
            "# comment\n"
            "export PLAIN=value # trailing comment\n"
            "SINGLE='lit $eral \\n stays'\n"
            'DOUBLE="line1\\nline2 \\"q\\" \\\\ \\$HOME"\n'
            'MULTI="first\nsecond"\n'
            "EMPTY=\n"
            "not a line\n"
            "lower_case=x\n"
        )
        entries, skipped, failed = parse_dotenv(text, "default")
        got = {entry.key: entry.value for entry in entries}
        assert got == {
            "PLAIN": "value",
            "SINGLE": "lit $eral \\n stays",
            "DOUBLE": 'line1\nline2 "q" \\ $HOME',
            "MULTI": "first\nsecond",
        }
        # R17.9: an empty value is skipped, as on create (it used to be stored as "").
        assert [(problem.key, problem.reason) for problem in skipped] == [
            ("EMPTY", "empty value")]
        assert [problem.reason.split(":")[0] for problem in failed] == [
            "not a KEY=value line", "bad key name",
        ]
        assert "not a line" not in str(failed[0])  # a malformed line is never echoed

    def test_a_dotenv_file_is_detected_and_imported(self, admin_user):
        summary = import_file(b"A_KEY=1\nB_KEY='two'\n", user=admin_user, profile="staging")
        assert summary.created == 2
        assert values("staging") == {"A_KEY": "1", "B_KEY": "two"}


def _finishes(call, within: float = 60) -> bool:
    """A hang check, not a speed test: quadratic parsing of these inputs takes hours."""
    import threading

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(within)
    return not thread.is_alive()


class TestPathologicalInput:
    """Inputs under the size limit that would take hours with a careless parser."""

    @pytest.mark.parametrize(
        "data",
        [
            b'default:\n  A_KEY: "' + b"{{" * 400_000 + b'"\n',  # template scanning
            b'A_KEY="unclosed\n' + b"x\n" * 400_000,  # dotenv quote never closed
            b"A_KEY=a" + b" " * 2_000_000 + b"b\n",  # comment search in spaces
            b'A_KEY="' + b'\\"' * 1_000_000 + b"\n",  # escaped quotes, never closed
        ],
    )
    def test_parsing_finishes(self, data):
        outcome = []

        def parse():
            text = read_text(data)
            try:
                if detect_format("", text) == "yaml":
                    outcome.append(parse_yaml(text, None))
                else:
                    outcome.append(parse_dotenv(text, "default"))
            except InvalidImport as refused:  # too many bad entries: refused whole
                outcome.append(refused)

        assert _finishes(parse)
        if isinstance(outcome[0], InvalidImport):
            assert "is this the right file" in str(outcome[0])
        else:
            entries, _, failed = outcome[0]
            assert len(entries) + len(failed) >= 1


def test_a_big_honest_file_is_not_mistaken_for_an_alias_bomb(admin_user):
    data = "default:\n" + "".join(f"  KEY_{n}: v\n" for n in range(120_000))
    entries, _, failed = parse_yaml(data, None)
    assert len(entries) == 120_000 and failed == []
