"""R22: profiles are configurable (SECRETS_PROFILES). A deployment with `default,dev,prod`
imports a dev:/prod: file through the command, the API and the console; the filters, the
console's menu, the catalog, grants, service tokens and the schema follow the setting; taking a
profile out of the setting loses nothing (listed, exportable, `check` warns)."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from drf_spectacular.generators import SchemaGenerator

from secrets_app.access.models import ProfileGrant
from secrets_app.constants import parse_profiles, profiles
from secrets_app.models import Secret
from secrets_app.services.bulk import import_file
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
SECRETS = "/api/v1/secrets/"
HTMX = {"HTTP_HX_REQUEST": "true"}

MAGE_FILE = b"""\
version: 0.1.1
default:
  POSTGRES_HOST: db.example.com
dev:
  POSTGRES_PASSWORD: dev-password
prod:
  POSTGRES_PASSWORD: prod-password
staging:
  POSTGRES_PASSWORD: staging-password
"""


@pytest.fixture
def dev_prod(settings):
    settings.SECRETS_PROFILES = "default,dev,prod"
    return settings


def stored() -> dict[tuple[str, str], str]:
    return {(s.profile, s.name): s.value.reveal() for s in Secret.objects.all()}


def imported_as_configured(summary_failed_reasons: dict) -> None:
    assert stored() == {
        ("default", "POSTGRES_HOST"): "db.example.com",
        ("dev", "POSTGRES_PASSWORD"): "dev-password",
        ("prod", "POSTGRES_PASSWORD"): "prod-password",
    }
    reason = summary_failed_reasons[("staging", "POSTGRES_PASSWORD")]
    assert reason.startswith("unknown profile 'staging': add it to SECRETS_PROFILES")
    assert reason.endswith("use one of default, dev, prod")


# --- the setting --------------------------------------------------------------------------


def test_R22_the_default_is_the_four_profiles_of_R1_6():
    assert profiles() == ("default", "development", "staging", "production")


def test_R22_profiles_follow_the_setting_and_default_is_always_there(settings):
    settings.SECRETS_PROFILES = "dev,prod"
    assert profiles() == ("default", "dev", "prod")
    settings.SECRETS_PROFILES = " dev , default,qa-2,x_y "
    assert profiles() == ("dev", "default", "qa-2", "x_y")


@pytest.mark.parametrize(("raw", "says"), [
    ("default,Dev", "'Dev' is not a profile name"),
    ("default,dev prod", "'dev prod' is not a profile name"),
    ("default," + "p" * 33, "1 to 32 lowercase letters, digits, '-' or '_'"),
    ("default,dev,dev", "names dev more than once"),
    ("default,,dev", "has an empty name"),
])
def test_R22_bad_names_are_a_configuration_error_naming_the_setting(raw, says):
    with pytest.raises(ImproperlyConfigured) as error:
        parse_profiles(raw)
    assert str(error.value).startswith("SECRETS_PROFILES")
    assert says in str(error.value)


def test_R22_bad_profiles_stop_start_up_with_a_clear_message():
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SECRETS_", "DJANGO_SETTINGS_MODULE"))}
    env.update({"KOZMO_IGNORE_DOTENV": "1", "DJANGO_SECRET_KEY": "x" * 50,
                "DATABASE_URL": "sqlite://:memory:", "SECRETS_ENCRYPTION_KEY": "k" * 44,
                "SECRETS_PROFILES": "default,Prod"})
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "SECRETS_PROFILES: 'Prod' is not a profile name" in result.stderr
    assert "Traceback" not in result.stderr


# --- importing a dev:/prod: file ------------------------------------------------------------


def test_R22_the_command_imports_dev_and_prod(dev_prod, tmp_path):
    path = tmp_path / "io_config.yaml"
    path.write_bytes(MAGE_FILE)
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 entry failed"):
        call_command("import_secrets", str(path), stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "staging/POSTGRES_PASSWORD (line 9): unknown profile 'staging': add it to " \
           "SECRETS_PROFILES" in text
    imported_as_configured({("staging", "POSTGRES_PASSWORD"): text.split(
        "staging/POSTGRES_PASSWORD (line 9): ", 1)[1].splitlines()[0]})


def test_R22_the_api_imports_dev_and_prod(dev_prod, admin_api):
    response = admin_api.generic("POST", f"{SECRETS}import/", MAGE_FILE,
                                 content_type="application/yaml")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["created"], body["failed"]) == (3, 1)
    imported_as_configured({(p["profile"], p["key"]): p["reason"] for p in body["failures"]})


def test_R22_the_console_imports_dev_and_prod(dev_prod, admin_client):
    upload = SimpleUploadedFile("io_config.yaml", MAGE_FILE)
    response = admin_client.post("/secrets/import/", {"file": upload}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="import-summary"' in html
    assert "unknown profile &#x27;staging&#x27;: add it to SECRETS_PROFILES" in html
    assert {(s.profile, s.name) for s in Secret.objects.all()} == {
        ("default", "POSTGRES_HOST"), ("dev", "POSTGRES_PASSWORD"), ("prod", "POSTGRES_PASSWORD")}


def test_R22_one_profile_of_the_file_and_a_flat_file_go_to_a_configured_profile(
        dev_prod, admin_api):
    response = admin_api.generic("POST", f"{SECRETS}import/?profile=dev", MAGE_FILE,
                                 content_type="application/yaml")
    assert response.status_code == 200, response.json()
    assert set(stored()) == {("dev", "POSTGRES_PASSWORD")}
    refused = admin_api.generic("POST", f"{SECRETS}import/?profile=staging", b"A_KEY: v\n",
                                content_type="application/yaml")
    assert refused.status_code == 400
    assert "add it to SECRETS_PROFILES" in refused.json()["profile"][0]


def test_R22_a_file_of_unconfigured_profiles_alone_names_the_setting(admin_user):
    """With the default four, a Mage file of dev: and prod: only is not a flat file of bad
    keys: each entry fails with the setting that would admit its profile."""
    summary = import_file(b"dev:\n  A_KEY: 1\nprod:\n  B_KEY: 2\n", user=admin_user)
    assert summary.counts()["failed"] == 2
    assert {(p.profile, p.key) for p in summary.failed} == {("dev", "A_KEY"), ("prod", "B_KEY")}
    assert all(p.reason.startswith(f"unknown profile '{p.profile}': add it to SECRETS_PROFILES")
               for p in summary.failed)
    assert not Secret.objects.exists()


UNCONFIGURED_SECTIONS = b"""\
default:
  A_KEY: 1
dev:
  A_KEY: 2
  B_KEY: 3
  C_KEY: 4
prod:
  B_KEY: 5
"""


def test_R22_an_unconfigured_profile_is_named_once_with_its_entries_counted(admin_user,
                                                                           admin_api, tmp_path):
    """A Mage file's dev: section under the default four profiles: one line for the section
    (not one per key), saying where the setting lives; the failed count is still the number
    of entries. A section of one entry keeps its key. The same in the service, the API, the
    command and the console."""
    summary = import_file(UNCONFIGURED_SECTIONS, user=admin_user, dry_run=True)
    assert summary.counts()["failed"] == 4 and summary.counts()["created"] == 1
    dev, prod = summary.failed
    assert (dev.profile, dev.key, dev.line, dev.entries) == ("dev", "", 3, 3)
    assert str(dev) == (
        "dev (line 3): unknown profile 'dev' (3 entries, none imported): add it to "
        "SECRETS_PROFILES (in .env, then restart), or use one of default, development, "
        "staging, production")
    assert (prod.key, prod.entries) == ("B_KEY", 1)
    assert str(prod).startswith("prod/B_KEY (line 8): unknown profile 'prod': add it to ")

    response = admin_api.generic("POST", f"{SECRETS}import/?dry_run=true",
                                 UNCONFIGURED_SECTIONS, content_type="application/yaml")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["failed"] == 4
    assert [(p["profile"], p["key"], p["entries"]) for p in body["failures"]] == [
        ("dev", "", 3), ("prod", "B_KEY", 1)]

    path = tmp_path / "io_config.yaml"
    path.write_bytes(UNCONFIGURED_SECTIONS)
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^4 entries failed"):
        call_command("import_secrets", str(path), "--dry-run", stdout=out, stderr=io.StringIO())
    assert out.getvalue().count("unknown profile 'dev'") == 1
    assert "4 failed" in out.getvalue()


def test_R22_a_connector_block_is_not_taken_for_an_unconfigured_profile(admin_user):
    """`trino:` holds lowercase settings, a profile section holds keys: a flat file's
    connector block still imports whole into default."""
    summary = import_file(b"trino:\n  host: h\n  port: 8080\nA_KEY: v\n", user=admin_user)
    assert summary.counts()["failed"] == 0, summary.failed
    assert {(s.profile, s.name) for s in Secret.objects.all()} == {
        ("default", "trino"), ("default", "A_KEY")}


# --- creating ------------------------------------------------------------------------------


def test_R22_creating_in_a_configured_profile_works_everywhere(dev_prod, admin_api,
                                                                 admin_client):
    response = admin_api.post(SECRETS, {"name": "A_KEY", "key": "A_KEY", "value": "v",
                                        "profile": "dev"}, format="json")
    assert response.status_code == 201, response.json()
    response = admin_client.post("/secrets/new/", {"name": "B_KEY", "key": "B_KEY",
                                                   "value": "v", "profile": "prod"}, **HTMX)
    assert response.status_code == 204
    assert {(s.profile, s.name) for s in Secret.objects.all()} == {
        ("dev", "A_KEY"), ("prod", "B_KEY")}


def test_R22_creating_in_an_unconfigured_profile_is_a_400_naming_the_setting(
        dev_prod, admin_api, admin_client, admin_user):
    response = admin_api.post(SECRETS, {"name": "A_KEY", "key": "A_KEY", "value": "v",
                                        "profile": "staging"}, format="json")
    assert response.status_code == 400
    assert "add it to SECRETS_PROFILES" in response.json()["profile"][0]
    html = admin_client.post("/secrets/new/", {"name": "A_KEY", "key": "A_KEY", "value": "v",
                                               "profile": "staging"}, **HTMX).content.decode()
    assert "Unknown profile staging: add it to SECRETS_PROFILES" in html
    with pytest.raises(Exception, match="add it to SECRETS_PROFILES"):
        create_secret(admin_user, name="A_KEY", key="A_KEY", value="v", profile="staging")
    assert not Secret.objects.exists()


# --- what follows the setting --------------------------------------------------------------


def test_R22_the_api_filter_and_profile_counts_show_dev_and_prod(dev_prod, admin_api,
                                                                  admin_user):
    create_secret(admin_user, name="A_KEY", key="A_KEY", value="v", profile="dev")
    create_secret(admin_user, name="B_KEY", key="B_KEY", value="v", profile="prod")
    listed = admin_api.get(f"{SECRETS}?profile=dev").json()
    assert [s["name"] for s in listed["results"]] == ["A_KEY"]
    assert admin_api.get(f"{SECRETS}?profile=staging").status_code == 400
    counts = admin_api.get(f"{SECRETS}profiles/").json()
    assert counts == [{"profile": "default", "count": 0}, {"profile": "dev", "count": 1},
                      {"profile": "prod", "count": 1}]


def test_R22_the_console_menu_and_the_catalog_columns_show_dev_and_prod(dev_prod,
                                                                         admin_client):
    page = admin_client.get("/secrets/").content.decode()
    menu = page.split('data-testid="profile-filter"', 1)[1].split("</select>", 1)[0]
    assert [line.split('value="', 1)[1].split('"', 1)[0]
            for line in menu.splitlines() if 'value="' in line] == ["", "default", "dev", "prod"]
    catalog = admin_client.get("/catalog/").content.decode()
    head = catalog.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert "<th>dev</th><th>prod</th>" in head
    assert "staging" not in head and "production" not in head


def test_R22_the_new_secret_and_import_dialogs_offer_dev_and_prod(dev_prod, admin_client):
    for path in ("/secrets/new/", "/secrets/import/"):
        html = admin_client.get(path, **HTMX).content.decode()
        assert '<option value="dev"' in html and '<option value="prod"' in html
        assert '<option value="staging"' not in html


def test_R22_grants_accept_dev_and_prod_and_refuse_staging(dev_prod, admin_api, admin_client,
                                                            member):
    ok = admin_api.post("/api/v1/grants/", {"user": member.username, "profile": "dev",
                                            "role": "reader"}, format="json")
    assert ok.status_code == 201, ok.json()
    refused = admin_api.post("/api/v1/grants/", {"user": member.username,
                                                 "profile": "staging", "role": "reader"},
                             format="json")
    assert refused.status_code == 400
    assert "add it to SECRETS_PROFILES" in refused.json()["profile"][0]
    admin_client.post("/settings/access/", {"user": member.username, "profile": "prod",
                                            "role": "editor"})
    admin_client.post("/settings/access/", {"user": member.username, "profile": "staging",
                                            "role": "editor"})
    assert set(ProfileGrant.objects.values_list("profile", "role")) == {
        ("dev", "reader"), ("prod", "editor")}
    out = io.StringIO()
    call_command("grant", "--user", member.username, "--profile", "dev", "--role", "editor",
                 stdout=out)
    with pytest.raises(CommandError, match="Choose one of default, dev, prod"):
        call_command("grant", "--user", member.username, "--profile", "staging",
                     "--role", "editor", stdout=out)


def test_R22_service_tokens_accept_dev_and_prod_and_refuse_staging(dev_prod, admin_api,
                                                                    admin_client):
    ok = admin_api.post("/api/v1/service-tokens/", {"name": "etl", "profiles": ["dev", "prod"]},
                        format="json")
    assert ok.status_code == 201, ok.json()
    refused = admin_api.post("/api/v1/service-tokens/", {"name": "etl2",
                                                         "profiles": ["staging"]},
                             format="json")
    assert refused.status_code == 400
    assert "add it to SECRETS_PROFILES" in str(refused.json()["profiles"])
    page = admin_client.get("/settings/service-tokens/").content.decode()
    assert 'value="dev"' in page and 'value="prod"' in page and 'value="staging"' not in page
    out, err = io.StringIO(), io.StringIO()
    call_command("create_service_token", "etl3", "--profile", "prod", stdout=out, stderr=err)
    with pytest.raises(CommandError, match="SECRETS_PROFILES"):
        call_command("create_service_token", "etl4", "--profile", "staging", stdout=out,
                     stderr=err)


def _enums(schema) -> list[list]:
    """Every enum that lists the profile `default`: the profile fields and parameters."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("enum"), list) and "default" in node["enum"]:
                found.append(node["enum"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found


def test_R22_the_schema_enum_follows_the_setting(settings):
    default_enums = _enums(SchemaGenerator().get_schema(request=None, public=True))
    assert default_enums
    assert all(set(enum) == {"default", "development", "staging", "production"}
               for enum in default_enums)
    settings.SECRETS_PROFILES = "default,dev,prod"
    schema = SchemaGenerator().get_schema(request=None, public=True)
    enums = _enums(schema)
    # The list filter, the import's ?profile= and the serializers' profile fields.
    assert len(enums) >= 3
    assert all(set(enum) == {"default", "dev", "prod"} for enum in enums)
    list_parameters = schema["paths"][SECRETS]["get"]["parameters"]
    profile = next(p for p in list_parameters if p["name"] == "profile")
    assert set(profile["schema"]["enum"]) == {"default", "dev", "prod"}


# --- taking a profile out of the setting ---------------------------------------------------


def test_R22_a_profile_taken_out_keeps_its_secrets_listed_exportable_and_check_warns(
        dev_prod, admin_api, admin_client, admin_user, tmp_path):
    create_secret(admin_user, name="A_KEY", key="A_KEY", value="dev-value", profile="dev")
    create_secret(admin_user, name="B_KEY", key="B_KEY", value="prod-value", profile="prod")
    create_secret(admin_user, name="C_KEY", key="C_KEY", value="x", profile="default")
    assert not [m for m in run_checks() if m.id == "kozmo.W002"]

    dev_prod.SECRETS_PROFILES = "default,prod"  # dev is taken out
    assert profiles() == ("default", "prod")

    # Listed: the API list, its filter, its counts; the console's rows and menu.
    names = [s["name"] for s in admin_api.get(SECRETS).json()["results"]]
    assert names == ["A_KEY", "B_KEY", "C_KEY"]
    assert [s["name"] for s in admin_api.get(f"{SECRETS}?profile=dev").json()["results"]] == [
        "A_KEY"]
    assert {"profile": "dev", "count": 1} in admin_api.get(f"{SECRETS}profiles/").json()
    page = admin_client.get("/secrets/").content.decode()
    assert 'data-profile="dev"' in page
    assert '<option value="dev">dev (not in SECRETS_PROFILES)</option>' in page
    assert 'data-profile="dev"' in admin_client.get("/secrets/?profile=dev").content.decode()

    # Exportable: the whole file, and --profile dev on its own.
    out = io.StringIO()
    call_command("export_secrets", stdout=out, stderr=io.StringIO())
    assert yaml.safe_load(out.getvalue())["dev"] == {"A_KEY": "dev-value"}
    out = io.StringIO()
    call_command("export_secrets", "--profile", "dev", stdout=out, stderr=io.StringIO())
    assert yaml.safe_load(out.getvalue()) == {"dev": {"A_KEY": "dev-value"}}
    with pytest.raises(CommandError, match="unknown profile 'qa': add it to SECRETS_PROFILES"):
        call_command("export_secrets", "--profile", "qa", stdout=io.StringIO(),
                     stderr=io.StringIO())

    # Edited in place: it may stay in dev, but nothing new is created there.
    secret = Secret.objects.get(name="A_KEY")
    response = admin_api.patch(f"{SECRETS}{secret.pk}/", {"description": "kept",
                                                          "profile": "dev"}, format="json")
    assert response.status_code == 200, response.json()
    refused = admin_api.post(SECRETS, {"name": "D_KEY", "key": "D_KEY", "value": "v",
                                       "profile": "dev"}, format="json")
    assert refused.status_code == 400
    assert "add it to SECRETS_PROFILES" in refused.json()["profile"][0]

    # `check` names the profile and how many secrets it holds.
    warnings = [m for m in run_checks() if m.id == "kozmo.W002"]
    assert len(warnings) == 1
    assert "not in SECRETS_PROFILES: dev (1 secret)" in warnings[0].msg

    # Put back, nothing was lost.
    dev_prod.SECRETS_PROFILES = "default,dev,prod"
    assert stored() == {("dev", "A_KEY"): "dev-value", ("prod", "B_KEY"): "prod-value",
                        ("default", "C_KEY"): "x"}
    assert not [m for m in run_checks() if m.id == "kozmo.W002"]
