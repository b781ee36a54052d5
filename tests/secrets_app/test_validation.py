"""One rule, one home (R17.9, R17.10, R17.11, R17.14, R17.18): the secret rules of
secrets_app/validation.py hold the same way on every way in — console POST, API, import (YAML
and dotenv; the command and the API) — with messages that say what to fix."""

import contextlib
import html
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from secrets_app import validation
from secrets_app.constants import ConfigKey, SecretCategory, category_for_key
from secrets_app.models import Secret
from secrets_app.services import secrets as services
from secrets_app.services.bulk import import_file
from secrets_app.services.secrets import create_secret, update_secret
from secrets_app.validation import DUPLICATE_NAME, VALUE_REQUIRED

pytestmark = pytest.mark.django_db

URL = "/api/v1/secrets/"
HTMX = {"HTTP_HX_REQUEST": "true"}
CYRILLIC_A = "\u0410"
LONG_KEY = "K" * 300


def field_errors(page: str, field: str) -> list[str]:
    """The errors the dialog shows next to one field (its `<div class="field">` block)."""
    for block in page.split('<div class="field')[1:]:
        if f'name="{field}"' in block.split("</div>")[0]:
            found = re.findall(r'<small class="field-error" role="alert">(.*?)</small>', block)
            return [html.unescape(text) for text in found]
    raise AssertionError(f"no {field} field in the dialog")


def console_create(client, **fields):
    data = {"name": "n", "key": "K", "value": "v", "profile": "default", **fields}
    response = client.post("/secrets/new/", data, **HTMX)
    assert response.status_code == 200  # the dialog again, with its errors (204 = saved)
    return response.content.decode()


def api_create(api, **fields):
    return api.post(URL, {"name": "n", "key": "K", "value": "v", **fields}, format="json")


def run_import(path, *args):
    out = io.StringIO()
    with contextlib.suppress(CommandError):  # a failed entry exits 1; the summary stays
        call_command("import_secrets", str(path), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --- R17.9: is a value required -----------------------------------------------------------


class TestValueRequired:
    def test_R17_9_the_api_refuses_an_empty_value_on_the_value_field(self, admin_api):
        response = api_create(admin_api, value="")
        assert response.status_code == 400
        assert response.json() == {"value": [VALUE_REQUIRED]}
        assert not Secret.objects.exists()

    def test_R17_9_the_api_refuses_a_missing_value_with_the_same_message(self, admin_api):
        response = admin_api.post(URL, {"name": "n", "key": "K"}, format="json")
        assert response.status_code == 400
        assert response.json() == {"value": [VALUE_REQUIRED]}

    def test_R17_9_the_console_shows_the_same_message_next_to_the_value(self, admin_client):
        page = console_create(admin_client, value="")
        assert field_errors(page, "value") == [VALUE_REQUIRED]
        assert not Secret.objects.exists()

    def test_R17_9_the_service_decides_for_every_caller(self, admin_user):
        for value in ("", None):
            with pytest.raises(ValidationError) as error:
                create_secret(admin_user, name="n", key="K", value=value)
            assert error.value.message_dict == {"value": [VALUE_REQUIRED]}

    def test_R17_9_an_ssh_secret_with_a_tunnel_may_leave_it_empty_everywhere(
        self, admin_api, admin_client
    ):
        tunnel = {"host": "jump", "username": "ops", "password": "pw"}
        response = api_create(admin_api, name="api", key="SSH_HOST", value="", ssh=tunnel)
        assert response.status_code == 201, response.json()
        assert admin_client.post("/secrets/new/", {
            "name": "console", "key": "SSH_HOST", "value": "", "category": "SSH",
            "profile": "default", "ssh_host": "jump", "ssh_username": "ops",
        }, **HTMX).status_code == 204
        # Without a tunnel there is nothing to store: refused on both.
        response = api_create(admin_api, name="bare", key="SSH_HOST", value="")
        assert response.status_code == 400
        page = console_create(admin_client, name="bare", key="SSH_HOST", value="",
                              category="SSH")
        assert field_errors(page, "value") == [VALUE_REQUIRED]

    def test_R17_9_update_to_empty_through_the_service_is_refused(self, admin_user):
        secret = create_secret(admin_user, name="n", key="K", value="v")
        with pytest.raises(ValidationError) as error:
            update_secret(secret, admin_user, value="")
        assert error.value.message_dict == {"value": [VALUE_REQUIRED]}
        assert Secret.objects.get().value.reveal() == "v"

    def test_R17_9_an_empty_value_in_an_import_is_skipped_as_empty_value(
        self, admin_user, admin_api, tmp_path
    ):
        yaml_file = tmp_path / "io_config.yaml"
        yaml_file.write_text("default:\n  EMPTY_KEY: ''\n  FULL_KEY: x\n")
        assert "default/EMPTY_KEY (line 2): empty value" in run_import(yaml_file)
        dotenv = tmp_path / ".env"
        dotenv.write_text("EMPTY_DOTENV=\nOTHER=x\n")
        assert "default/EMPTY_DOTENV (line 1): empty value" in run_import(dotenv)
        response = admin_api.post(f"{URL}import/", data=b"EMPTY_API=\"\"\nTHIRD=y\n",
                                  content_type="application/yaml")
        assert response.status_code == 200
        assert response.json()["skipped_entries"] == [
            {"profile": "default", "key": "EMPTY_API", "reason": "empty value", "line": 1,
             "entries": 1}]
        assert set(Secret.objects.values_list("name", flat=True)) == {
            "FULL_KEY", "OTHER", "THIRD"}


# --- R17.9: the size limit, one message ---------------------------------------------------


class TestValueSize:
    @pytest.fixture(autouse=True)
    def small_limit(self, settings):
        settings.SECRETS_MAX_VALUE_BYTES = 10

    def test_R17_9_api_console_and_import_say_the_same(self, admin_api, admin_client,
                                                       admin_user, tmp_path):
        message = "The value is too long: at most 10 bytes (this one has 11)."
        response = api_create(admin_api, value="x" * 11)
        assert response.status_code == 400
        assert response.json() == {"value": [message]}
        page = console_create(admin_client, value="x" * 11)
        assert field_errors(page, "value") == [message]
        yaml_file = tmp_path / "big.yaml"
        yaml_file.write_text("default:\n  BIG: xxxxxxxxxxx\n")
        assert f"default/BIG (line 2): {message}" in run_import(yaml_file)
        summary = import_file(b"BIG=xxxxxxxxxxx\n", user=admin_user, file_format="dotenv")
        assert [problem.reason for problem in summary.failed] == [message]
        assert not Secret.objects.exists()

    def test_R17_9_a_value_that_is_not_unicode_text_is_a_400_not_a_500(self, admin_api,
                                                                       admin_user):
        response = admin_api.post(URL, data='{"name": "n", "key": "K", "value": "\\ud800"}',
                                  content_type="application/json")
        assert response.status_code == 400
        assert list(response.json()) == ["value"]  # DRF's own check; the service's below
        with pytest.raises(ValidationError) as error:
            create_secret(admin_user, name="n", key="K", value="\ud800")
        assert error.value.message_dict == {"value": [
            "The value is not valid Unicode text: it has an unpaired surrogate (U+D800)."]}

    def test_R17_9_a_value_that_grows_through_an_env_var_is_checked_too(
        self, admin_user, monkeypatch
    ):
        monkeypatch.setenv("KOZMO_TEST_BIG", "y" * 50)
        summary = import_file(b"default:\n  GROWN: \"{{ env_var('KOZMO_TEST_BIG') }}\"\n",
                              user=admin_user, resolve_env_vars=True)
        assert summary.failed[0].reason.startswith("The value is too long")
        assert not Secret.objects.exists()


# --- R17.10, R17.18: key shape and its message ----------------------------------------------


BAD_KEYS = {
    "NL_KEY\n": "it contains a new line",
    LONG_KEY: "it is too long: at most 255 characters (this one has 300)",
    "lower_key": "it has lowercase letters",
    "1KEY": "it starts with a digit",
    "MY KEY": "it contains a space",
    "MY-KEY": "it contains characters a key cannot have: '-'",
}


class TestKeyShape:
    @pytest.mark.parametrize(("key", "problem"), BAD_KEYS.items())
    def test_R17_10_R17_18_the_message_says_what_is_wrong(self, key, problem):
        message = validation.key_message(key)
        assert problem in message and "UPPER_SNAKE" in message
        assert "connector block" not in message  # not nested: no word about blocks

    def test_R17_18_connector_blocks_only_for_a_mapping(self, admin_user):
        # R22: `trino:` (a lowercase identifier) is now a connector block, stored whole; a
        # mapping under a name that is neither a key nor such a name still gets the hint.
        summary = import_file(
            b"default:\n  Trino-Prod:\n    host: h\n  lower_plain: x\n", user=admin_user)
        reasons = {problem.key: problem.reason for problem in summary.failed}
        assert "nested connector block such as trino:" in reasons["Trino-Prod"]
        assert "it has lowercase letters" in reasons["Trino-Prod"]
        assert "connector block" not in reasons["lower_plain"]
        assert "it has lowercase letters" in reasons["lower_plain"]

    @pytest.mark.parametrize("key", ["NL_KEY\n", LONG_KEY, " PADDED_KEY "])
    def test_R17_10_console_and_api_refuse_it_on_the_key_field(self, admin_api, admin_client,
                                                               key):
        response = api_create(admin_api, key=key)
        assert response.status_code == 400
        assert list(response.json()) == ["key"]
        assert "Bad key name" in response.json()["key"][0]
        page = console_create(admin_client, key=key)
        assert "Bad key name" in field_errors(page, "key")[0]
        assert not Secret.objects.exists()

    def test_R17_10_yaml_import_fails_the_entry_and_keeps_the_rest(self, admin_user,
                                                                   tmp_path, admin_api):
        document = f'default:\n  "NL_KEY\\n": a\n  {LONG_KEY}: b\n  NL_KEY: c\n'
        path = tmp_path / "io_config.yaml"
        path.write_text(document)
        out = run_import(path)
        assert "1 created, 0 updated, 0 unchanged, 0 skipped, 2 failed" in out
        assert "it is too long: at most 255 characters (this one has 300)" in out
        assert "it contains a new line" in out
        assert list(Secret.objects.values_list("key", flat=True)) == ["NL_KEY"]
        response = admin_api.post(f"{URL}import/", data=document.replace("NL_KEY:", "N2:")
                                  .encode(), content_type="application/yaml")
        assert response.status_code == 200
        assert response.json()["failed"] == 2 and response.json()["created"] == 1

    def test_R17_10_dotenv_import_fails_a_long_key(self, admin_user, tmp_path, admin_api):
        path = tmp_path / ".env"
        path.write_text(f"{LONG_KEY}=x\nSHORT=y\n")
        out = run_import(path)
        assert "this one has 300" in out
        response = admin_api.post(f"{URL}import/?profile=staging",
                                  data=f"{LONG_KEY}=x\n".encode(),
                                  content_type="application/yaml")
        assert response.status_code == 200
        assert response.json()["failed"] == 1
        assert list(Secret.objects.values_list("key", flat=True)) == ["SHORT"]


@pytest.mark.services
def test_R17_10_a_300_character_key_fails_its_entry_on_postgresql(admin_api, admin_user):
    """On PostgreSQL the key column is varchar(255): an unchecked key was a 500."""
    document = f"default:\n  {LONG_KEY}: x\n  FINE_KEY: y\n".encode()
    response = admin_api.post(f"{URL}import/", data=document, content_type="application/yaml")
    assert response.status_code == 200, response.content
    assert response.json()["failed"] == 1 and response.json()["created"] == 1
    summary = import_file(f"{LONG_KEY}=x\n".encode(), user=admin_user, file_format="dotenv")
    assert summary.failed[0].key == LONG_KEY
    assert list(Secret.objects.values_list("key", flat=True)) == ["FINE_KEY"]


# --- R17.11: invisible characters and look-alike names ----------------------------------------


INVISIBLE = ["EVIL\u202eNAME", "A\u200bB", "\ufeffBOM", "NUL\x00NAME", "TAB\tNAME",
             "NEW\nLINE", "LINE\u2028SEP"]


def refused_by_service_and_api(admin_user, admin_api, name: str, code: str):
    """The service refuses the name with the message naming `code`; the API answers 400.
    Returns the message and the API's answer for the caller's further checks."""
    expected = f"The name contains an invisible or control character ({code}): remove it."
    with pytest.raises(ValidationError) as error:
        create_secret(admin_user, name=name, key="K", value="v")
    assert error.value.message_dict == {"name": [expected]}
    response = api_create(admin_api, name=name)
    assert response.status_code == 400
    return expected, response


class TestNames:
    @pytest.mark.parametrize("name", INVISIBLE)
    def test_R17_11_invisible_or_control_characters_are_refused(self, admin_api, admin_client,
                                                                admin_user, name):
        code = next(f"U+{ord(c):04X}" for c in name if not (c.isalnum() or c in "_ "))
        expected, response = refused_by_service_and_api(admin_user, admin_api, name, code)
        if "\x00" in name:  # the API's JSON parser refuses a NUL first, naming the field
            assert "control character" in response.json()["name"][0]
        else:  # (and a browser never sends a NUL in a form field)
            assert response.json() == {"name": [expected]}
            assert field_errors(console_create(admin_client, name=name), "name") == [expected]
        assert not Secret.objects.exists()

    def test_R17_11_a_look_alike_is_a_duplicate_on_the_api(self, admin_api):
        assert api_create(admin_api, name="API_KEY", key="API_KEY").status_code == 201
        response = api_create(admin_api, name=f"{CYRILLIC_A}PI_KEY", key="API_KEY")
        assert response.status_code == 400
        assert response.json()["detail"] == DUPLICATE_NAME
        assert response.json()["name"] == [DUPLICATE_NAME]
        # Another profile may hold it.
        response = api_create(admin_api, name=f"{CYRILLIC_A}PI_KEY", key="API_KEY",
                              profile="staging")
        assert response.status_code == 201

    def test_R17_11_a_look_alike_is_a_duplicate_in_the_console(self, admin_client, admin_user):
        create_secret(admin_user, name="API_KEY", key="API_KEY", value="v")
        page = console_create(admin_client, name=f"{CYRILLIC_A}PI_KEY", key="API_KEY")
        assert field_errors(page, "name") == [DUPLICATE_NAME]
        assert Secret.objects.count() == 1

    def test_R17_11_renaming_into_a_look_alike_is_refused(self, admin_user):
        create_secret(admin_user, name="DB_1", key="K", value="v")
        other = create_secret(admin_user, name="OTHER", key="K", value="v")
        with pytest.raises(ValidationError) as error:
            update_secret(other, admin_user, name="DB_l")  # digit one vs small L
        assert error.value.message_dict == {"name": [DUPLICATE_NAME]}

    def test_R17_11_the_database_decides_races(self, admin_user, monkeypatch):
        create_secret(admin_user, name="API_KEY", key="K", value="v")
        # As if a concurrent create passed the check first: the constraint still refuses.
        monkeypatch.setattr(services, "check_unique_name", lambda *args, **kwargs: None)
        with pytest.raises(ValidationError) as error:
            create_secret(admin_user, name=f"{CYRILLIC_A}PI_KEY", key="K", value="v")
        assert error.value.message_dict == {"name": [DUPLICATE_NAME]}
        assert Secret.objects.count() == 1

    def test_R17_11_an_import_entry_fails_naming_the_existing_secret(
        self, admin_user, admin_api, tmp_path
    ):
        create_secret(admin_user, name=f"{CYRILLIC_A}PI_KEY", key="API_KEY", value="v")
        path = tmp_path / "io_config.yaml"
        path.write_text("default:\n  API_KEY: x\n  OTHER_KEY: y\n")
        out = run_import(path)
        assert "1 created, 0 updated, 0 unchanged, 0 skipped, 1 failed" in out
        assert ("default/API_KEY (line 2): a secret with a look-alike name already exists in "
                f"this profile: '{CYRILLIC_A}PI_KEY' (U+0410 CYRILLIC CAPITAL LETTER A)") in out
        response = admin_api.post(f"{URL}import/", data=b"API_KEY=x\n",
                                  content_type="application/yaml")
        assert response.status_code == 200
        assert "look-alike" in response.json()["failures"][0]["reason"]
        assert Secret.objects.filter(name="API_KEY").count() == 0

    def test_R17_11_look_alikes_within_one_file(self, admin_user):
        summary = import_file(b"KEY_1=a\nKEY_I=b\n", user=admin_user)
        assert summary.created == 1
        assert [(p.key, "'KEY_1'" in p.reason) for p in summary.failed] == [("KEY_I", True)]

    def test_R17_11_the_skeleton_follows_uts_39(self):
        skeleton = validation.name_skeleton
        assert skeleton("API_KEY") == skeleton(f"{CYRILLIC_A}PI_KEY") == skeleton("APl_KEY")
        assert skeleton("rn") == skeleton("m")
        assert skeleton("API_KEY") != skeleton("api_key")  # case is not a look-alike
        assert skeleton("café") == skeleton("cafe\u0301")  # NFD both ways

    def test_R17_11_every_save_path_fills_the_skeleton(self, admin_user):
        from django.db import transaction

        secret = create_secret(admin_user, name="API_KEY", key="K", value="v")
        assert secret.name_skeleton == validation.skeleton_digest("API_KEY")
        update_secret(secret, admin_user, name="RENAMED")
        assert Secret.objects.get().name_skeleton == validation.skeleton_digest("RENAMED")
        with transaction.atomic():
            Secret.objects.bulk_create([Secret(name="BULK", key="K", value="v")])
        assert Secret.objects.get(name="BULK").name_skeleton == validation.skeleton_digest(
            "BULK")


# --- R17.14: categories by service prefix ---------------------------------------------------


CATEGORIES = {
    "POSTGRES_PASSWORD_0042": SecretCategory.DATABASE,
    "POSTGRES_SSH_HOST": SecretCategory.DATABASE,
    "MSSQL_DRIVER": SecretCategory.DATABASE,
    "CLICKHOUSE_INTERFACE": SecretCategory.DATABASE,
    "DRUID_SCHEME": SecretCategory.DATABASE,
    "ORACLEDB_SERVICE": SecretCategory.DATABASE,
    "REDSHIFT_ANYTHING": SecretCategory.DATABASE,
    "SNOWFLAKE_WAREHOUSE_2": SecretCategory.DATABASE,
    "TRINO_CATALOG": SecretCategory.DATABASE,
    "MONGODB_URI": SecretCategory.DATABASE,
    "ELASTICSEARCH_HOST": SecretCategory.DATABASE,
    "OPENSEARCH_HOST": SecretCategory.DATABASE,
    "PINOT_BROKER": SecretCategory.DATABASE,
    "DUCKDB_DATABASE": SecretCategory.DATABASE,
    "MOTHERDUCK_TOKEN": SecretCategory.DATABASE,
    "QDRANT_PATH": SecretCategory.DATABASE,
    "WEAVIATE_ENDPOINT": SecretCategory.DATABASE,
    "CHROMA_COLLECTION": SecretCategory.DATABASE,
    "SPARK_TOKEN": SecretCategory.DATABASE,
    "MYSQL_SSL_CA": SecretCategory.DATABASE,
    "AWS_ROLE_ARN": SecretCategory.AWS,
    "AZURE_SUBSCRIPTION_ID": SecretCategory.AZURE,
    "GOOGLE_PROJECT": SecretCategory.GCP,
    "BIGQUERY_LOCATION": SecretCategory.GCP,
    "SSH_JUMP_HOST": SecretCategory.SSH,
    "API_TOKEN": SecretCategory.CUSTOM,
    "POSTGRES": SecretCategory.CUSTOM,  # the bare service name is no service key
    "MY_POSTGRES_HOST": SecretCategory.CUSTOM,  # a prefix, not a substring
}


class TestCategories:
    @pytest.mark.parametrize(("key", "category"), CATEGORIES.items())
    def test_R17_14_the_category_table(self, key, category):
        assert category_for_key(key) == category

    def test_R17_14_every_known_key_has_its_groups_category(self):
        assert all(category_for_key(key) != SecretCategory.CUSTOM for key in ConfigKey.values)

    def test_R17_14_create_console_automatic_and_import_agree(self, admin_user, admin_api,
                                                              admin_client):
        assert api_create(admin_api, name="a", key="POSTGRES_PASSWORD_0042").json()[
            "category"] == "Database"
        assert admin_client.post("/secrets/new/", {
            "name": "b", "key": "MSSQL_DRIVER", "value": "v", "category": "",
            "profile": "default",
        }, **HTMX).status_code == 204
        import_file(b"POSTGRES_SSH_HOST=h\nTRINO_HOST=t\nAWS_ROLE_ARN=r\n", user=admin_user)
        assert dict(Secret.objects.values_list("name", "category")) == {
            "a": "Database", "b": "Database", "POSTGRES_SSH_HOST": "Database",
            "TRINO_HOST": "Database", "AWS_ROLE_ARN": "AWS",
        }


def test_R17_9_R17_10_the_console_shows_every_fields_problem_at_once(admin_client):
    page = console_create(admin_client, key="NL_KEY\n", value="")
    assert field_errors(page, "value") == [VALUE_REQUIRED]
    assert "it contains a new line" in field_errors(page, "key")[0]


@pytest.mark.django_db(transaction=True)
def test_R17_11_the_migration_fills_skeletons_and_stops_on_existing_look_alikes():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("secrets_app", "0004_trigram_search")]
    after = [("secrets_app", "0005_secret_name_skeleton")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_secret = executor.loader.project_state(before).apps.get_model("secrets_app", "Secret")
    for name in ("API_KEY", f"{CYRILLIC_A}PI_KEY", "OTHER"):
        old_secret.objects.create(name=name, key="K", value="v")
    executor = MigrationExecutor(connection)
    with pytest.raises(CommandError) as error:
        executor.migrate(after)
    assert f"default: 'API_KEY', '{CYRILLIC_A}PI_KEY' (U+0410 CYRILLIC CAPITAL LETTER A)" in str(
        error.value)
    assert "OTHER" not in str(error.value)
    old_secret.objects.filter(name="API_KEY").delete()
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert dict(Secret.objects.values_list("name", "name_skeleton")) == {
        name: validation.skeleton_digest(name) for name in (f"{CYRILLIC_A}PI_KEY", "OTHER")}


# --- R17.11 (review F2): default-ignorable and blank-looking characters, runs of spaces -------


# Each renders as nothing (or as a blank that is no space) next to a stored LOOK_KEY / LOOK KEY.
HIDDEN_IN_NAMES = {
    "LOOK\u034f_KEY": "U+034F",  # combining grapheme joiner
    "LOOK_\ufe0fKEY": "U+FE0F",  # variation selector 16
    "LOOK_KEY\u180b": "U+180B",  # Mongolian free variation selector
    "LOOK_KEY\u17b4": "U+17B4",  # Khmer vowel inherent AQ
    "LOOK\u115f_KEY": "U+115F",  # Hangul choseong filler
    "LOOK\u3164_KEY": "U+3164",  # Hangul filler
    "LOOK\uffa0_KEY": "U+FFA0",  # halfwidth Hangul filler
    "LOOK\U000e0041_KEY": "U+E0041",  # tag letter A
    "LOOK\u2800KEY": "U+2800",  # braille pattern blank (a symbol, not a space)
    "LOOK\ue001_KEY": "U+E001",  # private use: no glyph tells it apart
    "LOOK\u0378_KEY": "U+0378",  # unassigned
}


class TestHiddenCharacters:
    @pytest.fixture(autouse=True)
    def stored(self, admin_user):
        create_secret(admin_user, name="LOOK_KEY", key="K", value="v")
        create_secret(admin_user, name="LOOK KEY", key="K", value="v")

    @pytest.mark.parametrize(("name", "code"), HIDDEN_IN_NAMES.items())
    def test_R17_11_default_ignorable_and_blank_symbols_are_refused_everywhere(
        self, admin_api, admin_client, admin_user, name, code
    ):
        expected, response = refused_by_service_and_api(admin_user, admin_api, name, code)
        assert response.json() == {"name": [expected]}
        assert field_errors(console_create(admin_client, name=name), "name") == [expected]
        secret = Secret.objects.get(name="LOOK_KEY")
        with pytest.raises(ValidationError) as error:
            update_secret(secret, admin_user, name=name)
        assert error.value.message_dict == {"name": [expected]}
        assert Secret.objects.count() == 2

    def test_R17_11_an_import_cannot_create_them_either(self, admin_user):
        document = "default:\n" + "".join(f"  {name.replace(' ', '_')}: x\n"
                                          for name in HIDDEN_IN_NAMES)
        summary = import_file(document.encode(), user=admin_user)
        assert summary.created == 0 and len(summary.failed) == len(HIDDEN_IN_NAMES)
        assert Secret.objects.count() == 2

    @pytest.mark.parametrize("name", ["LOOK  KEY", "LOOK\u00a0KEY", "LOOK\u3000KEY",
                                      "LOOK \u2003 KEY", "LOOK\u202fKEY"])
    def test_R17_11_runs_of_white_space_look_like_one_space(self, admin_api, admin_client,
                                                            admin_user, name):
        assert validation.name_skeleton(name) == validation.name_skeleton("LOOK KEY")
        response = api_create(admin_api, name=name)
        assert response.status_code == 400
        assert response.json()["name"] == [DUPLICATE_NAME]
        assert field_errors(console_create(admin_client, name=name), "name") == [DUPLICATE_NAME]
        with pytest.raises(ValidationError) as error:
            create_secret(admin_user, name=name, key="K", value="v")
        assert error.value.message_dict == {"name": [DUPLICATE_NAME]}
        assert Secret.objects.count() == 2

    def test_R17_11_the_database_refuses_a_spacing_look_alike_too(self, admin_user,
                                                                 monkeypatch):
        monkeypatch.setattr(services, "check_unique_name", lambda *args, **kwargs: None)
        with pytest.raises(ValidationError) as error:
            create_secret(admin_user, name="LOOK  KEY", key="K", value="v")
        assert error.value.message_dict == {"name": [DUPLICATE_NAME]}
        assert Secret.objects.count() == 2


def test_R17_11_the_skeleton_drops_default_ignorables_before_mapping():
    """UTS 39 since revision 26: default-ignorable code points are removed first."""
    skeleton = validation.name_skeleton
    for name in HIDDEN_IN_NAMES:  # (U+2800, private-use and unassigned are refused, not dropped)
        if not any(c in name for c in "\u2800\ue001\u0378"):
            assert skeleton(name) == skeleton(name.replace("\u2800", "")) == skeleton(
                "".join(c for c in name if c.isascii()))
    assert skeleton("A\u200bB") == skeleton("AB") == skeleton("A\u00adB")
    assert skeleton("  LOOK \u00a0 KEY ") == skeleton("LOOK KEY")
    assert skeleton("LOOK KEY") != skeleton("LOOKKEY")  # a space is still seen


def test_R17_11_escape_name_writes_hidden_characters_as_escapes():
    assert validation.escape_name("EVIL\u202eNAME") == "'EVIL\\u202eNAME'"
    assert validation.escape_name("A\u200bB\x1b]0;x\x07") == "'A\\u200bB\\x1b]0;x\\x07'"
    assert validation.escape_name(f"{CYRILLIC_A}PI\u034f") == f"'{CYRILLIC_A}PI\\u034f'"


# --- R17.11 (review F3): migration 0005 stops on stored names the rules refuse ---------------


def _rows_at_0004(names):
    """Migrate to 0004, store raw rows as an old version could, and return a 0005 executor."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("secrets_app", "0004_trigram_search")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_secret = executor.loader.project_state(before).apps.get_model("secrets_app", "Secret")
    for name, profile in names:
        old_secret.objects.create(name=name, key="K", value="v", profile=profile)
    return old_secret


def _migrate(target):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(target or executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_R17_11_the_migration_stops_on_stored_invisible_names_and_lists_them_escaped():
    after = [("secrets_app", "0005_secret_name_skeleton")]
    old_secret = _rows_at_0004([("AB", "default"), ("A\u200bB", "default"),
                                ("EVIL\u202eNAME", "default"), ("TAG\u2800", "staging"),
                                ("FINE", "default")])
    with pytest.raises(CommandError) as error:
        _migrate(after)
    message = str(error.value)
    assert "'A\\u200bB' in profile default" in message
    assert "'EVIL\\u202eNAME' in profile default" in message
    assert "'TAG\\u2800' in profile staging" in message
    assert "invisible or control character (U+202E)" in message
    assert "'AB'" not in message and "FINE" not in message
    assert "previous version" in message and "migrate again" in message
    assert not any(c in message for c in "\u200b\u202e\u2800")  # nothing hidden in the text
    # Nothing was half-done: still at 0004, and fixing the rows lets it through.
    old_secret.objects.filter(name__in=["A\u200bB", "EVIL\u202eNAME"]).delete()
    old_secret.objects.filter(name="TAG\u2800").update(name="TAG")
    _migrate(None)
    assert dict(Secret.objects.values_list("name", "name_skeleton")) == {
        name: validation.skeleton_digest(name) for name in ("AB", "TAG", "FINE")}


@pytest.mark.django_db(transaction=True)
def test_R17_11_the_migration_uses_the_new_skeleton_and_the_constraint_holds():
    from django.db import IntegrityError, transaction

    after = [("secrets_app", "0005_secret_name_skeleton")]
    old_secret = _rows_at_0004([("LOOK KEY", "default"), ("LOOK  KEY", "default"),
                                ("LOOK\u00a0KEY", "staging"), ("LOOK KEY", "staging")])
    with pytest.raises(CommandError) as error:
        _migrate(after)
    assert "default: 'LOOK  KEY', 'LOOK KEY'" in str(error.value)
    assert "staging: 'LOOK KEY', 'LOOK?KEY' (U+00A0 NO-BREAK SPACE)" in str(error.value)
    old_secret.objects.filter(name__in=["LOOK  KEY", "LOOK\u00a0KEY"]).delete()
    _migrate(None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Secret.objects.create(name="LOOK \u3000KEY", key="K", value="v")  # no service check
    assert Secret.objects.count() == 2


# --- R17.9 (review F8): the mask is not a value, on every way in ------------------------------


MASK_MESSAGE = "******** is the mask shown for every value: send the real one."


class TestMaskIsNoValue:
    def test_R17_9_the_service_refuses_it_on_create_and_update(self, admin_user):
        with pytest.raises(ValidationError) as error:
            create_secret(admin_user, name="n", key="K", value="********")
        assert error.value.message_dict == {"value": [MASK_MESSAGE]}
        secret = create_secret(admin_user, name="n", key="K", value="real")
        with pytest.raises(ValidationError) as error:
            update_secret(secret, admin_user, value="********")
        assert error.value.message_dict == {"value": [MASK_MESSAGE]}
        assert Secret.objects.get().value.reveal() == "real"
        assert validation.MASK_VALUE == MASK_MESSAGE

    def test_R17_9_the_console_create_and_edit_dialogs_refuse_it(self, admin_client,
                                                                admin_user):
        page = console_create(admin_client, value="********")
        assert field_errors(page, "value") == [MASK_MESSAGE]
        assert not Secret.objects.exists()
        secret = create_secret(admin_user, name="n", key="K", value="real")
        response = admin_client.post(f"/secrets/{secret.pk}/edit/", {
            "name": "n", "key": "K", "value": "********", "profile": "default"}, **HTMX)
        assert response.status_code == 200  # the dialog again (204 = saved)
        assert field_errors(response.content.decode(), "value") == [MASK_MESSAGE]
        assert Secret.objects.get().value.reveal() == "real"

    def test_R17_9_the_api_refuses_it_on_create_and_keeps_the_value_on_update(
        self, admin_api, admin_user
    ):
        response = api_create(admin_api, value="********")
        assert response.status_code == 400
        assert response.json() == {"value": [MASK_MESSAGE]}
        secret = create_secret(admin_user, name="n", key="K", value="real")
        for value in ("********", ""):  # a GET-then-PUT round trip sends the mask back (R8)
            response = admin_api.patch(f"{URL}{secret.pk}/", {"value": value}, format="json")
            assert response.status_code == 200, response.json()
        assert Secret.objects.get().value.reveal() == "real"
        assert Secret.objects.get().versions.count() == 1

    def test_R17_9_an_import_entry_with_the_mask_fails_with_that_reason(
        self, admin_user, admin_api, tmp_path
    ):
        create_secret(admin_user, name="EXISTING", key="EXISTING", value="real")
        yaml_file = tmp_path / "io_config.yaml"
        yaml_file.write_text("default:\n  MASKED: '********'\n  EXISTING: '********'\n"
                             "  FINE: x\n")
        out = run_import(yaml_file)
        assert f"default/MASKED (line 2): {MASK_MESSAGE}" in out
        assert f"default/EXISTING (line 3): {MASK_MESSAGE}" in out
        summary = import_file(b"DOTENV_MASK=********\n", user=admin_user, file_format="dotenv")
        assert [(p.key, p.reason) for p in summary.failed] == [("DOTENV_MASK", MASK_MESSAGE)]
        response = admin_api.post(f"{URL}import/", data=b"API_MASK=\"********\"\n",
                                  content_type="application/yaml")
        assert response.status_code == 200
        assert response.json()["failures"][0]["reason"] == MASK_MESSAGE
        assert dict((s.name, s.value.reveal()) for s in Secret.objects.all()) == {
            "EXISTING": "real", "FINE": "x"}


def test_R17_9_a_nul_in_a_value_is_refused_on_every_way_in(admin_user):
    """The API's parser refused it already; the console, import and commands now do too."""
    message = "The value contains a NUL character (U+0000)"
    with pytest.raises(ValidationError, match=r"NUL character \(U\+0000\)"):
        create_secret(admin_user, name="NULV", key="NULV", value="a\x00b")
    summary = import_file(b'default:\n  NULV: "a\\0b"\n', user=admin_user)  # YAML's \0
    assert [problem.key for problem in summary.failed] == ["NULV"]
    assert summary.failed[0].reason.startswith(message)
    summary = import_file(b"NULX=a\x00b\n", user=admin_user, file_format="dotenv")
    assert [problem.key for problem in summary.failed] == ["NULX"]
    assert not Secret.objects.exists()
