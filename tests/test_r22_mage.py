"""R22: Mage AI's io_config.yaml as teams write it. Templates the server cannot resolve
(--templates fail|skip|keep), connector blocks (trino:), nested values that round-trip, empty
strings skipped. The fixture is our own copy of the template's shape (docs.mage.ai)."""

import contextlib
import io
import json
from pathlib import Path

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from audit_app.models import AuditLog
from secrets_app.formats.dotenv import parse_dotenv
from secrets_app.models import Secret, SecretVersion

pytestmark = pytest.mark.django_db

MAGE = Path(__file__).resolve().parent / "fixtures" / "mage_io_config.yaml"
HTMX = {"HTTP_HX_REQUEST": "true"}
ENV_VARS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrEXAMPLEKEY"}
AZURE = ["AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_STORAGE_ACCOUNT_NAME",
         "AZURE_TENANT_ID"]
UNSUPPORTED = ("unsupported template: only {{ env_var('NAME') }} is resolved (the templates "
               "choice keep stores it as written, skip leaves it out)")
# Where no env_var is resolved (an upload, a service call outside the command), the message
# does not claim that one would be.
UPLOAD_UNSUPPORTED = ("unsupported template: this import resolves none (only the manage.py "
                      "import_secrets command resolves {{ env_var('NAME') }}, for the operator "
                      "or an --as user who may read `default`); the templates choice keep "
                      "stores it as written, skip leaves it out")
UPLOAD_ENV_VAR = ("env_var templates are resolved only by the manage.py import_secrets "
                  "command, for the operator or an --as user who may read `default`: an upload "
                  "cannot read the server's environment")
NULL = "the value is null"
# Nulls as Mage's template writes them: skipped in both profiles, except where production
# gives a value (SNOWFLAKE_DEFAULT_WH, _ROLE, _TIMEOUT) or a null of its own (MSSQL_PORT).
DEFAULT_NULLS = ["CLICKHOUSE_PASSWORD", "CLICKHOUSE_USERNAME", "SNOWFLAKE_DEFAULT_WH",
                 "SNOWFLAKE_DEFAULT_DB", "SNOWFLAKE_DEFAULT_SCHEMA",
                 "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE", "SNOWFLAKE_PRIVATE_KEY_PATH",
                 "SNOWFLAKE_ROLE", "SNOWFLAKE_TIMEOUT"]
PRODUCTION_NULLS = ["CLICKHOUSE_PASSWORD", "CLICKHOUSE_USERNAME", "SNOWFLAKE_DEFAULT_DB",
                    "SNOWFLAKE_DEFAULT_SCHEMA", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
                    "SNOWFLAKE_PRIVATE_KEY_PATH", "MSSQL_PORT"]
MAGE_SECRETS = ["POSTGRES_PASSWORD", "SNOWFLAKE_PASSWORD"]  # production's mage_secret_var


def mage_data() -> dict:
    """The fixture as Mage reads it (PyYAML), `version:` aside."""
    data = yaml.safe_load(MAGE.read_text())
    data.pop("version")
    return data


def unset(name: str) -> str:
    return f"environment variable {name} is not set (used by env_var)"


def run(*args) -> tuple[str, str, str]:
    """stdout, stderr and the CommandError (a failed entry exits 1) of a command."""
    out, err, error = io.StringIO(), io.StringIO(), ""
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as raised:
        error = str(raised)
    return out.getvalue(), err.getvalue(), error


def import_mage(*options) -> tuple[str, str]:
    out, _, error = run("import_secrets", str(MAGE), *options)
    return out, error


def export(*options) -> str:
    out, _, error = run("export_secrets", *options)
    assert not error
    return out


def problems(out: str, heading: str) -> dict[tuple[str, str], str]:
    """{(profile, key): reason} of the report's Skipped: or Failed: lines."""
    found, current = {}, None
    for line in out.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            current = line[:-1]
        elif line.startswith("  ") and current == heading:
            where, reason = line.strip().split(": ", 1)
            profile, key = where.split(" ")[0].split("/", 1)
            found[(profile, key)] = reason
    return found


def as_stored(value):
    """What the import stores for a value Mage reads: scalars as text (true/false for
    booleans), mappings and lists as themselves (the export writes them back so)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return value
    return str(value)


def stored() -> dict[str, dict]:
    return {profile: set(Secret.objects.filter(profile=profile).values_list("name", flat=True))
            for profile in ("default", "production")}


def expected_nulls() -> dict:
    return {**{("default", key): NULL for key in DEFAULT_NULLS},
            **{("production", key): NULL for key in PRODUCTION_NULLS},
            ("production", "AZURE_TENANT_ID"): "empty value"}


class TestMageTemplateThroughTheCommand:
    def test_R22_every_entry_has_the_outcome_a_mage_user_expects(self, monkeypatch):
        for name, value in ENV_VARS.items():
            monkeypatch.setenv(name, value)
        for name in AZURE:
            monkeypatch.delenv(name, raising=False)
        out, error = import_mage()  # --templates fail, the default: today's behaviour
        failed = {
            **{(profile, key): unset(key) for profile in ("default", "production")
               for key in AZURE if (profile, key) != ("production", "AZURE_TENANT_ID")},
            **{("production", key): UNSUPPORTED for key in MAGE_SECRETS},
        }
        assert problems(out, "Failed") == failed
        assert problems(out, "Skipped") == expected_nulls()
        assert error == "9 entries failed; fix them and import again (the rest was imported)."
        data = mage_data()
        for profile in ("default", "production"):
            written = set(data[profile])
            left_out = {key for where, key in {**failed, **expected_nulls()} if where == profile}
            assert stored()[profile] == written - left_out, profile
        assert "131 created, 0 updated, 0 unchanged, 17 skipped, 9 failed" in out

    def test_R22_values_are_stored_as_mage_wrote_them(self, monkeypatch):
        for name, value in ENV_VARS.items():
            monkeypatch.setenv(name, value)
        import_mage("--templates", "skip")
        values = {(s.profile, s.name): s for s in Secret.objects.all()}
        assert values["default", "AWS_ACCESS_KEY_ID"].value.reveal() == "AKIAEXAMPLE"
        assert values["default", "CLICKHOUSE_PORT"].value.reveal() == "8123"
        assert values["production", "SNOWFLAKE_TIMEOUT"].value.reveal() == "300"
        assert values["production", "POSTGRES_HOST"].value.reveal() == "db.prod.internal"
        assert values["production", "POSTGRES_PORT"].value.reveal() == "5432"  # merged
        assert values["production", "GOOGLE_LOCATION"].value.reveal() == "EU"  # overridden
        google = values["default", "GOOGLE_SERVICE_ACC_KEY"]
        assert (google.category, google.value_format) == ("GCP", "json")
        assert json.loads(google.value.reveal()) == mage_data()["default"][
            "GOOGLE_SERVICE_ACC_KEY"]

    def test_R22_templates_skip_reports_them_with_their_reason(self, monkeypatch):
        for name in (*ENV_VARS, *AZURE):
            monkeypatch.delenv(name, raising=False)
        out, error = import_mage("--templates", "skip")
        assert not error  # nothing failed: exit 0
        skipped = problems(out, "Skipped")
        # A profile's skipped entry says it falls back to default's (R5.5).
        assert skipped["production", "POSTGRES_PASSWORD"] == UNSUPPORTED + (
            "; production then reads default's POSTGRES_PASSWORD, if it has one")
        assert skipped["default", "AWS_ACCESS_KEY_ID"] == unset("AWS_ACCESS_KEY_ID")
        assert skipped["default", "AZURE_TENANT_ID"] == unset("AZURE_TENANT_ID")
        assert skipped["production", "AZURE_TENANT_ID"] == "empty value"
        assert not problems(out, "Failed")
        assert not Secret.objects.filter(name__in=[*AZURE, *ENV_VARS]).exists()
        assert not Secret.objects.filter(profile="production", name__in=MAGE_SECRETS).exists()

    def test_R22_templates_keep_stores_the_text_as_written(self, monkeypatch):
        for name in (*ENV_VARS, *AZURE):
            monkeypatch.delenv(name, raising=False)
        out, error = import_mage("--templates", "keep")
        assert not error and not problems(out, "Failed")
        kept = Secret.objects.get(profile="production", name="SNOWFLAKE_PASSWORD")
        assert kept.value.reveal() == "{{ mage_secret_var('snowflake_password') }}"
        assert kept.value_format == "template"
        aws = Secret.objects.get(profile="default", name="AWS_ACCESS_KEY_ID")
        assert aws.value.reveal() == "{{ env_var('AWS_ACCESS_KEY_ID') }}"

    def test_R22_keep_still_resolves_what_the_command_may_read(self, monkeypatch):
        # env_var keeps its rule: the command line resolves a set variable even with keep.
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        import_mage("--templates", "keep")
        aws = Secret.objects.get(profile="default", name="AWS_ACCESS_KEY_ID")
        assert (aws.value.reveal(), aws.value_format) == ("AKIAEXAMPLE", "text")

    def test_R22_a_bad_templates_choice_lists_the_choices(self):
        _, _, error = run("import_secrets", str(MAGE), "--templates", "ignore")
        assert "invalid choice: 'ignore' (choose from fail, skip, keep)" in error or (
            "invalid choice: 'ignore' (choose from 'fail', 'skip', 'keep')" in error)
        assert not Secret.objects.exists()


class TestConnectorBlocks:
    def test_R22_trino_is_one_secret_under_its_own_name(self):
        import_mage("--templates", "skip")
        trino = Secret.objects.get(profile="default", name="trino")
        assert (trino.key, trino.category, trino.value_format) == ("TRINO", "Database", "json")
        assert json.loads(trino.value.reveal()) == mage_data()["default"]["trino"]
        spark = Secret.objects.get(profile="production", name="spark")
        assert (spark.key, spark.category) == ("SPARK", "Database")
        # Merged into production from default with `<<: *default`.
        assert Secret.objects.filter(profile="production", name="trino").exists()

    def test_R22_an_unknown_connector_is_custom_and_a_profile_name_is_no_connector(
            self, admin_user):
        from secrets_app.services.bulk import import_file
        summary = import_file(
            b"default:\n  airbyte:\n    url: http://a\n  production:\n    X_KEY: y\n",
            user=admin_user)
        assert Secret.objects.get(name="airbyte").category == "Custom"
        assert [problem.key for problem in summary.failed] == ["production"]
        assert "connector block" in summary.failed[0].reason


class TestRoundTrip:
    def test_R22_export_reads_back_as_the_imported_data_and_imports_unchanged(
            self, monkeypatch, tmp_path):
        for name in (*ENV_VARS, *AZURE):
            monkeypatch.delenv(name, raising=False)
        import_mage("--templates", "keep")
        text = export()
        exported = yaml.safe_load(text)  # no !literal tag: Mage (PyYAML) reads it
        data = mage_data()
        for profile, names in stored().items():
            assert set(exported[profile]) == names
            for name in names:
                assert exported[profile][name] == as_stored(data[profile][name]), name
        assert exported["default"]["trino"]["session_properties"] == {
            "acc01.optimize_locality_enabled": False, "optimize_hash_generation": True}
        assert exported["default"]["GOOGLE_SERVICE_ACC_KEY"]["type"] == "service_account"

        path = tmp_path / "export.yaml"
        path.write_text(text)
        versions = SecretVersion.objects.count()
        out, error = run("import_secrets", str(path), "--templates", "keep")[::2]
        assert not error
        assert f"0 created, 0 updated, {Secret.objects.count()} unchanged, 0 skipped" in out
        assert SecretVersion.objects.count() == versions

    def test_R22_an_export_without_templates_imports_unchanged_by_default(
            self, monkeypatch, tmp_path):
        for name, value in ENV_VARS.items():
            monkeypatch.setenv(name, value)
        import_mage("--templates", "skip")
        path = tmp_path / "export.yaml"
        path.write_text(export())
        out, error = run("import_secrets", str(path))[::2]
        assert not error
        assert f"0 created, 0 updated, {Secret.objects.count()} unchanged, 0 skipped, 0 failed" \
            in out

    def test_R22_dotenv_export_writes_json_text_and_leaves_connector_blocks_out(self):
        import_mage("--templates", "skip")
        out, err, error = run("export_secrets", "--format", "dotenv")
        assert not error
        entries, _, failed = parse_dotenv(out, "default")
        values = {entry.key: entry.value for entry in entries}
        assert not failed and "trino" not in values
        google = json.loads(values["GOOGLE_SERVICE_ACC_KEY"])
        assert google == mage_data()["default"]["GOOGLE_SERVICE_ACC_KEY"]
        assert "Left out 'trino' (default): a connector block is exported in YAML only" in err

    def test_R22_reimporting_the_same_file_gives_an_old_json_value_its_shape(self, admin_user):
        # Stored as JSON text before R22 (shape unknown): the same file now marks it, with
        # no new version, and the export writes the mapping.
        from secrets_app.services.bulk import import_file
        text = b'default:\n  GOOGLE_SERVICE_ACC_KEY:\n    type: service_account\n'
        import_file(text, user=admin_user)
        Secret.objects.update(value_format="text")
        summary = import_file(text, user=admin_user)
        assert (summary.updated, summary.unchanged) == (1, 0)
        assert Secret.objects.get().value_format == "json"
        assert SecretVersion.objects.count() == 1
        update = AuditLog.objects.filter(action="UPDATE").get()
        assert update.detail["changed"] == ["value_format"]
        # A .env file with the same text says nothing about shape: unchanged, still json.
        summary = import_file(b'GOOGLE_SERVICE_ACC_KEY=\'{"type": "service_account"}\'\n',
                              user=admin_user, file_format="dotenv")
        assert summary.unchanged == 1 and Secret.objects.get().value_format == "json"


class TestEmptyValues:
    def test_R22_an_empty_string_is_skipped_as_empty_value(self, admin_user):
        from secrets_app.services.bulk import import_file
        summary = import_file(b'default:\n  AZURE_TENANT_ID: ""\n  AZURE_CLIENT_ID: c\n',
                              user=admin_user)
        assert [(p.key, p.reason) for p in summary.skipped] == [
            ("AZURE_TENANT_ID", "empty value")]
        assert list(Secret.objects.values_list("name", flat=True)) == ["AZURE_CLIENT_ID"]


class TestApiAndConsole:
    def test_R22_api_import_with_templates_keep(self, admin_api, monkeypatch):
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")  # an upload never reads it
        response = admin_api.post("/api/v1/secrets/import/?templates=keep",
                                  data=MAGE.read_bytes(), content_type="application/yaml")
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["created"], body["failed"]) == (140, 0)
        assert {(p["profile"], p["key"]): p["reason"] for p in body["skipped_entries"]} == \
            expected_nulls()
        aws = Secret.objects.get(profile="default", name="AWS_ACCESS_KEY_ID")
        assert aws.value.reveal() == "{{ env_var('AWS_ACCESS_KEY_ID') }}"
        assert Secret.objects.get(profile="default", name="trino").key == "TRINO"

    def test_R22_api_import_default_fails_templates_with_the_upload_reason(self, admin_api):
        response = admin_api.post("/api/v1/secrets/import/?templates=skip",
                                  data=MAGE.read_bytes(), content_type="application/yaml")
        assert response.status_code == 200
        skipped = {(p["profile"], p["key"]): p["reason"]
                   for p in response.json()["skipped_entries"]}
        assert skipped["default", "AWS_ACCESS_KEY_ID"] == UPLOAD_ENV_VAR
        assert skipped["production", "SNOWFLAKE_PASSWORD"] == UPLOAD_UNSUPPORTED + (
            "; production then reads default's SNOWFLAKE_PASSWORD, if it has one")

    def test_R22_api_refuses_a_bad_templates_choice(self, admin_api):
        response = admin_api.post("/api/v1/secrets/import/?templates=ignore",
                                  data=b"default:\n  A_KEY: a\n", content_type="application/yaml")
        assert response.status_code == 400
        assert response.json() == {"templates": ["Choose one of fail, skip, keep."]}
        assert not Secret.objects.exists()

    def test_R22_the_schema_lists_the_templates_choices(self, admin_api):
        schema = yaml.safe_load(admin_api.get("/api/schema/").content)
        operation = schema["paths"]["/api/v1/secrets/import/"]["post"]
        parameter = next(p for p in operation["parameters"] if p["name"] == "templates")
        assert sorted(parameter["schema"]["enum"]) == ["fail", "keep", "skip"]
        assert parameter["schema"]["default"] == "fail"

    def test_R22_console_import_dialog_offers_the_choice(self, admin_client):
        html = admin_client.get("/secrets/import/", **HTMX).content.decode()
        assert 'name="templates"' in html and "Keep the text as written" in html
        upload = SimpleUploadedFile("io_config.yaml", MAGE.read_bytes())
        response = admin_client.post("/secrets/import/", {"file": upload, "templates": "skip"},
                                     **HTMX)
        html = response.content.decode()
        assert "<b>0</b> failed" in html
        assert "production/SNOWFLAKE_PASSWORD (line 134): unsupported template" in html
        with contextlib.suppress(Secret.DoesNotExist):
            Secret.objects.get(profile="production", name="SNOWFLAKE_PASSWORD")
            pytest.fail("a skipped template was stored")


class TestTemplatesInsideABlock:
    BLOCK = b"default:\n  trino:\n    host: h\n    password: \"{{ mage_secret_var('pw') }}\"\n"

    def test_R22_a_template_inside_a_block_follows_the_choice(self, admin_user):
        from secrets_app.services.bulk import import_file
        summary = import_file(self.BLOCK, user=admin_user)
        assert [(p.key, p.reason) for p in summary.failed] == [("trino", UPLOAD_UNSUPPORTED)]
        summary = import_file(self.BLOCK, user=admin_user, templates="keep")
        assert summary.created == 1
        assert json.loads(Secret.objects.get().value.reveal()) == {
            "host": "h", "password": "{{ mage_secret_var('pw') }}"}

    def test_R22_it_exports_as_written_for_mage_to_resolve(self, admin_user):
        from secrets_app.services.bulk import import_file
        import_file(self.BLOCK, user=admin_user, templates="keep")
        assert yaml.safe_load(export()) == yaml.safe_load(self.BLOCK)

    def test_R22_a_literal_value_still_exports_with_its_tag(self, admin_user):
        from secrets_app.services.bulk import import_file
        import_file(b"default:\n  A_KEY: !literal \"{{ x }}\"\n", user=admin_user)
        assert "A_KEY: !literal '{{ x }}'" in export()


def test_R22_the_mage_example_in_docs_commands_is_what_the_command_prints(monkeypatch,
                                                                           tmp_path):
    """docs/commands.md's Mage AI example, file and output, is run here so it cannot drift."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "commands.md").read_text()
    section = text.split("### Mage AI files", 1)[1]
    file_text = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    shown = section.split("```console\n", 1)[1].split("```", 1)[0].splitlines()
    prompt, shown = shown[0], shown[1:]
    assert prompt == "$ .venv/bin/python manage.py import_secrets io_config.yaml --templates skip"
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    Path("io_config.yaml").write_text(file_text)
    out, _, error = run("import_secrets", "io_config.yaml", "--templates", "skip")
    assert not error
    assert out.splitlines() == shown
    trino = Secret.objects.get(profile="production", name="trino")
    assert (trino.key, trino.category) == ("TRINO", "Database")
    exported = yaml.safe_load(export())
    assert exported["default"]["trino"] == yaml.safe_load(file_text)["default"]["trino"]


def test_R22_a_kept_block_too_big_as_written_fails_with_the_size_reason(admin_user, settings):
    from secrets_app.services.bulk import import_file
    settings.SECRETS_MAX_VALUE_BYTES = 200
    text = ("default:\n  trino:\n" + "".join(
        f"    k{n}: \"{{{{ mage_secret_var('s{n}') }}}}\"\n" for n in range(10))).encode()
    summary = import_file(text, user=admin_user, templates="keep")
    assert [p.key for p in summary.failed] == ["trino"]
    assert "The value is too long: at most 200 bytes" in summary.failed[0].reason


def test_R22_the_readme_mage_example_does_what_readme_says(db, settings, tmp_path):
    """README's Mage example, imported as README says: the template fails (fail) or is kept
    (keep), the mapping and the trino block come back as they were, and importing the export
    reports everything unchanged."""
    settings.SECRETS_PROFILES = "default,dev,prod"
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("### Mage AI files as they are", 1)[1]
    text = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    source = tmp_path / "io_config.yaml"
    source.write_text(text)
    out, _, _ = run("import_secrets", str(source))
    assert "POSTGRES_PASSWORD" in out and "unsupported template" in out
    run("import_secrets", str(source), "--templates", "keep")
    path = tmp_path / "export.yaml"
    run("export_secrets", "--output", str(path))
    exported = yaml.safe_load(path.read_text())
    original = yaml.safe_load(text)
    for profile in ("default", "dev"):
        for name in ("GOOGLE_SERVICE_ACC_KEY", "trino", "POSTGRES_PASSWORD"):
            assert exported[profile][name] == original[profile][name], (profile, name)
    assert exported["dev"]["POSTGRES_HOST"] == "db.dev.internal"
    again, _, error = run("import_secrets", str(path))
    assert not error
    assert again.endswith(": 0 created, 0 updated, 8 unchanged, 0 skipped, 0 failed\n"), again
