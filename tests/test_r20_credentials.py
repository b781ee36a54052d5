"""R20: credentials for programs. GET /api/v1/credentials/ answers many keys in one request,
each through the R5 chain, in the caller's scope; the server's own configuration is never
served; one request is one decrypt and one audit row; `resolve_credential --format` answers
the same shape on the command line."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit_app.models import AuditAction, AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.service_tokens import create_service_token
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

URL = "/api/v1/credentials/"
SERVER_NAMES = ["DJANGO_SECRET_KEY", "DJANGO_DEBUG", "SECRETS_ENCRYPTION_KEY",
                "SECRETS_ENCRYPTION_KEYS", "KOZMO_ANYTHING", "DATABASE_URL", "REDIS_URL"]


def with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def stored(admin_user):
    """POSTGRES_HOST and POSTGRES_PASSWORD in production; API_KEY only in default."""
    made = {}
    for profile, key in (("production", "POSTGRES_HOST"), ("production", "POSTGRES_PASSWORD"),
                         ("default", "API_KEY"), ("default", "POSTGRES_HOST"),
                         ("development", "POSTGRES_HOST")):
        made[(profile, key)] = create_secret(admin_user, name=f"{profile} {key}", key=key,
                                             value=f"{profile}-{key}-VALUE", profile=profile)
    return made


def reader_of(django_user_model, admin_user, *profiles):
    user = django_user_model.objects.create_user("reader", password="reader-password")
    for profile in profiles:
        add_grant(admin_user, user, profile, "reader")
    client = APIClient()
    client.force_authenticate(user)
    return user, client


def test_R20_many_keys_in_one_answer_with_their_sources(admin_api, stored, monkeypatch):
    monkeypatch.setenv("FROM_THE_ENVIRONMENT", "env-VALUE")
    response = admin_api.get(URL, {"profile": "production",
                                   "keys": "POSTGRES_HOST, POSTGRES_PASSWORD,API_KEY,"
                                           "FROM_THE_ENVIRONMENT,NOT_THERE"})
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "profile": "production",
        "credentials": {
            "POSTGRES_HOST": {"value": "production-POSTGRES_HOST-VALUE", "source": "database",
                              "profile": "production"},
            "POSTGRES_PASSWORD": {"value": "production-POSTGRES_PASSWORD-VALUE",
                                  "source": "database", "profile": "production"},
            "API_KEY": {"value": "default-API_KEY-VALUE", "source": "database",
                        "profile": "default"},
            "FROM_THE_ENVIRONMENT": {"value": "env-VALUE", "source": "environment",
                                     "profile": "default"},
        },
        "missing": ["NOT_THERE"],
        "fallback": True,
    }


def test_R20_keys_may_be_repeated_and_default_is_the_default_profile(admin_api, stored):
    response = admin_api.get(URL + "?keys=API_KEY&keys=POSTGRES_HOST,API_KEY")
    assert response.status_code == 200
    body = response.json()
    assert body["profile"] == "default"
    assert list(body["credentials"]) == ["API_KEY", "POSTGRES_HOST"]
    assert body["credentials"]["POSTGRES_HOST"]["value"] == "default-POSTGRES_HOST-VALUE"


def test_R20_without_keys_every_stored_key_of_the_profile_then_defaults(admin_api, stored):
    response = admin_api.get(URL, {"profile": "production"})
    assert response.status_code == 200
    body = response.json()
    assert {key: item["value"] for key, item in body["credentials"].items()} == {
        "API_KEY": "default-API_KEY-VALUE",
        "POSTGRES_HOST": "production-POSTGRES_HOST-VALUE",
        "POSTGRES_PASSWORD": "production-POSTGRES_PASSWORD-VALUE",
    }
    assert body["missing"] == []


def test_R20_the_config_file_and_aws_answer_too(admin_api, aws, settings, tmp_path):
    config = tmp_path / "io_config.yaml"
    config.write_text("production:\n  FROM_THE_FILE: file-VALUE\n")
    settings.SECRETS_CONFIG_FILE = str(config)
    aws.create_secret(Name="kozmo/production/FROM_AWS", SecretString="aws-VALUE")
    response = admin_api.get(URL, {"profile": "production", "keys": "FROM_THE_FILE,FROM_AWS"})
    assert response.status_code == 200, response.content
    assert response.json()["credentials"] == {
        "FROM_THE_FILE": {"value": "file-VALUE", "source": "config_file",
                          "profile": "production"},
        "FROM_AWS": {"value": "aws-VALUE", "source": "aws", "profile": "production"},
    }


def test_R20_the_database_answers_before_the_environment(admin_api, stored, monkeypatch):
    monkeypatch.setenv("POSTGRES_HOST", "env-VALUE")
    response = admin_api.get(URL, {"profile": "production", "keys": "POSTGRES_HOST"})
    assert response.status_code == 200
    assert response.json()["credentials"]["POSTGRES_HOST"]["source"] == "database"


# --- the server's own configuration -------------------------------------------------------


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_R20_server_configuration_is_never_served(admin_api, admin_user, monkeypatch,
                                                  settings, tmp_path, name):
    canary = f"SERVER-CANARY-{name}"
    monkeypatch.setenv(name, canary)
    config = tmp_path / "io_config.yaml"
    config.write_text(f"default:\n  {name}: {canary}-file\n")
    settings.SECRETS_CONFIG_FILE = str(config)
    create_secret(admin_user, name=f"stored {name}", key=name, value=f"{canary}-db")
    for asked in (name, f"API_KEY,{name}"):
        response = admin_api.get(URL, {"keys": asked})
        assert response.status_code == 400
        assert canary not in response.content.decode()
        assert name in response.json()["keys"][0]
        assert "server's own configuration" in response.json()["keys"][0]
    everything = admin_api.get(URL)
    assert everything.status_code == 200
    assert canary not in everything.content.decode()
    assert name not in everything.json()["credentials"]


def test_R20_server_configuration_is_no_credential_on_the_command_line(admin_user):
    create_secret(admin_user, name="stored", key="DATABASE_URL", value="CANARY-db")
    with pytest.raises(Exception, match="server's own configuration") as error:
        call_command("resolve_credential", "DATABASE_URL", "--format", "json")
    assert "CANARY" not in str(error.value)


# --- scope ----------------------------------------------------------------------------------


def test_R20_a_reader_gets_their_profile_and_is_refused_the_rest(
        django_user_model, admin_user, stored):
    _, client = reader_of(django_user_model, admin_user, "production")
    mine = client.get(URL, {"profile": "production",
                            "keys": "POSTGRES_HOST,POSTGRES_PASSWORD"})
    assert mine.status_code == 200
    assert set(mine.json()["credentials"]) == {"POSTGRES_HOST", "POSTGRES_PASSWORD"}
    other = client.get(URL, {"profile": "development", "keys": "POSTGRES_HOST"})
    assert other.status_code == 403
    assert other.json() == {"detail": "Admin privileges required",
                            "refused": [{"key": "POSTGRES_HOST", "profile": "development"}]}
    # Only `default` holds API_KEY, and this reader may not read `default`: no fallback, so
    # API_KEY is missing (a 403 would tell what `default` holds).
    inherited = client.get(URL, {"profile": "production", "keys": "POSTGRES_HOST,API_KEY"})
    assert inherited.status_code == 200
    assert inherited.json()["missing"] == ["API_KEY"]
    assert inherited.json()["fallback"] is False
    assert "default-API_KEY-VALUE" not in inherited.content.decode()
    # Without keys: what the reader may read, `default`'s left out.
    everything = client.get(URL, {"profile": "production"})
    assert everything.status_code == 200
    assert set(everything.json()["credentials"]) == {"POSTGRES_HOST", "POSTGRES_PASSWORD"}


def test_R20_a_person_without_grants_and_anonymous_are_refused(member_api, stored):
    refused = member_api.get(URL, {"profile": "production", "keys": "POSTGRES_HOST"})
    assert refused.status_code == 403
    assert "VALUE" not in refused.content.decode()
    assert member_api.get(URL, {"profile": "production"}).status_code == 403
    assert APIClient().get(URL, {"keys": "API_KEY"}).status_code == 401
    rows = AuditLog.objects.filter(action=AuditAction.DECRYPT, allowed=False)
    assert rows.count() == 2
    assert rows.first().detail["reason"] == "not an admin"


def test_R20_a_service_token_gets_its_scope_and_is_refused_outside_it(admin_user, stored):
    _, key = create_service_token(admin_user, name="etl", profiles=["production"],
                                  keys=["POSTGRES_*"])
    client = with_key(key)
    ok = client.get(URL, {"profile": "production", "keys": "POSTGRES_HOST,POSTGRES_PASSWORD"})
    assert ok.status_code == 200, ok.content
    assert set(ok.json()["credentials"]) == {"POSTGRES_HOST", "POSTGRES_PASSWORD"}
    outside_keys = client.get(URL, {"profile": "production", "keys": "POSTGRES_HOST,API_KEY"})
    assert outside_keys.status_code == 403
    assert outside_keys.json()["refused"] == [{"key": "API_KEY", "profile": "production"}]
    # A key outside the patterns is refused even when no source holds it: not "missing".
    assert client.get(URL, {"profile": "production", "keys": "NOWHERE"}).status_code == 403
    outside_profile = client.get(URL, {"profile": "development", "keys": "POSTGRES_HOST"})
    assert outside_profile.status_code == 403
    everything = client.get(URL, {"profile": "production"})
    assert everything.status_code == 200
    assert set(everything.json()["credentials"]) == {"POSTGRES_HOST", "POSTGRES_PASSWORD"}
    refusal = AuditLog.objects.filter(allowed=False).order_by("-sequence")[1]
    assert refusal.detail["reason"] == "outside the service token's scope"
    assert refusal.detail["service_token"] == "etl"


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "field", "words"), [
    ({"keys": "lower_case"}, "keys", "UPPER_SNAKE"),
    ({"keys": ""}, "keys", "Name at least one key"),
    ({"keys": ",, ,"}, "keys", "Name at least one key"),
    ({"keys": ",".join(f"K{n}" for n in range(501))}, "keys", "At most 500 keys"),
    ({"profile": "staging-x", "keys": "API_KEY"}, "profile", "staging-x"),
])
def test_R20_bad_requests_say_what_to_fix(admin_api, stored, query, field, words):
    response = admin_api.get(URL, query)
    assert response.status_code == 400
    assert words in " ".join(response.json()[field])
    assert not AuditLog.objects.filter(action=AuditAction.DECRYPT).exists()


# --- one decrypt, one audit row --------------------------------------------------------------


def test_R20_one_request_is_one_decrypt_of_a_persons_budget(admin_api, stored, settings):
    settings.SECRETS_DECRYPT_RATE = "3/m"
    many = "POSTGRES_HOST,POSTGRES_PASSWORD,API_KEY"
    for _ in range(3):
        assert admin_api.get(URL, {"profile": "production", "keys": many}).status_code == 200
    limited = admin_api.get(URL, {"profile": "production", "keys": many})
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert "VALUE" not in limited.content.decode()


def test_R20_a_service_token_uses_its_own_budget(admin_user, stored, settings):
    settings.SECRETS_DECRYPT_RATE = "3/m"
    settings.SECRETS_SERVICE_TOKEN_RATE = "20/m"
    _, key = create_service_token(admin_user, name="etl", profiles=["production"])
    client = with_key(key)
    answers = [client.get(URL, {"profile": "production", "keys": "POSTGRES_HOST"}).status_code
               for _ in range(21)]
    assert answers[:20] == [200] * 20
    assert answers[20] == 429


def test_R20_one_audit_row_names_every_key_and_the_filter_by_secret_finds_it(
        admin_api, stored, monkeypatch):
    monkeypatch.setenv("FROM_THE_ENVIRONMENT", "env-VALUE")
    before = AuditLog.objects.count()
    response = admin_api.get(URL, {"profile": "production",
                                   "keys": "POSTGRES_PASSWORD,API_KEY,FROM_THE_ENVIRONMENT,NO"})
    assert response.status_code == 200
    assert AuditLog.objects.count() == before + 1
    row = AuditLog.objects.order_by("-sequence").first()
    assert (row.action, row.allowed, row.secret_profile) == (AuditAction.DECRYPT, True,
                                                            "production")
    assert row.detail["served"] == {"POSTGRES_PASSWORD": "database", "API_KEY": "database",
                                    "FROM_THE_ENVIRONMENT": "environment"}
    assert row.detail["from_default"] == ["API_KEY", "FROM_THE_ENVIRONMENT"]
    assert row.detail["missing"] == ["NO"]
    assert "VALUE" not in json.dumps(row.detail) + row.secret_name
    for secret in (stored[("production", "POSTGRES_PASSWORD")], stored[("default", "API_KEY")]):
        found = admin_api.get("/api/v1/audit/", {"secret": str(secret.pk)})
        assert found.status_code == 200
        assert row.sequence in [item["sequence"] for item in found.json()["results"]]
    untouched = stored[("development", "POSTGRES_HOST")]
    found = admin_api.get("/api/v1/audit/", {"secret": str(untouched.pk)})
    assert row.sequence not in [item["sequence"] for item in found.json()["results"]]
    console = admin_api.get(f"/audit/?secret={stored[('default', 'API_KEY')].pk}")
    assert console.status_code in (200, 302)


def test_R20_fifty_keys_cost_a_bounded_number_of_queries(admin_api, admin_user):
    keys = [f"KEY_{n:02d}" for n in range(50)]
    for key in keys:
        create_secret(admin_user, name=key, key=key, value=f"v-{key}", profile="production")
    with CaptureQueriesContext(connection) as queries:
        response = admin_api.get(URL, {"profile": "production", "keys": ",".join(keys)})
    assert response.status_code == 200
    assert len(response.json()["credentials"]) == 50
    assert len(queries) < 20, [q["sql"][:80] for q in queries]


# --- the command line ------------------------------------------------------------------------


def test_R20_resolve_credential_answers_the_same_shape(admin_user, stored, capsys):
    with pytest.raises(CommandError, match="NOT_THERE"):
        call_command("resolve_credential", "--profile", "production", "POSTGRES_HOST",
                     "API_KEY", "NOT_THERE", "--format", "json")
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "profile": "production",
        "credentials": {
            "POSTGRES_HOST": {"value": "production-POSTGRES_HOST-VALUE", "source": "database",
                              "profile": "production"},
            "API_KEY": {"value": "default-API_KEY-VALUE", "source": "database",
                        "profile": "default"},
        },
        "missing": ["NOT_THERE"],
        "fallback": True,
    }
    row = AuditLog.objects.order_by("-sequence").first()
    assert (row.channel, row.detail["served"]) == (
        "cli", {"POSTGRES_HOST": "database", "API_KEY": "database"})


def test_R20_resolve_credential_dotenv_reads_back_with_python_dotenv(admin_user, capsys):
    import io

    from dotenv import dotenv_values

    hostile = 'a "quoted" $HOME #not-a-comment\nsecond line \\ back\'slash'
    create_secret(admin_user, name="HOSTILE", key="HOSTILE", value=hostile)
    create_secret(admin_user, name="DOLLAR", key="DOLLAR", value="$HOME and 'single'")
    call_command("resolve_credential", "HOSTILE", "DOLLAR", "--format", "dotenv")
    text = capsys.readouterr().out
    # As programs read it: python-dotenv's defaults, interpolation on.
    assert dotenv_values(stream=io.StringIO(text)) == {
        "HOSTILE": hostile, "DOLLAR": "$HOME and 'single'"}


def test_R20_resolve_credential_dotenv_refuses_a_value_dotenv_would_expand(admin_user,
                                                                           capsys):
    create_secret(admin_user, name="BRACES", key="BRACES", value="${HOME}")
    with pytest.raises(CommandError, match=r"BRACES.*--format json"):
        call_command("resolve_credential", "BRACES", "--format", "dotenv")
    assert "HOME" not in capsys.readouterr().out


def test_R20_resolve_credential_prints_what_it_found_then_fails_naming_the_missing(
        stored, capsys):
    with pytest.raises(CommandError, match="NOT_THERE"):
        call_command("resolve_credential", "API_KEY", "NOT_THERE", "--format", "json")
    assert json.loads(capsys.readouterr().out)["missing"] == ["NOT_THERE"]


def test_R20_resolve_credential_as_a_user_is_in_their_scope(
        django_user_model, admin_user, stored):
    reader_of(django_user_model, admin_user, "production")
    with pytest.raises(CommandError, match="no reader grant on development"):
        call_command("resolve_credential", "--profile", "development", "POSTGRES_HOST",
                     "--format", "json", "--as", "reader")


def test_R20_the_servers_own_aws_credentials_are_not_an_environment_answer(
        admin_api, aws, monkeypatch):
    # With the AWS source on, AWS_* in the server's environment are what it signs in to AWS
    # with: served, they would open every profile's secrets there, whatever the grants.
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SERVER-AWS-CANARY")
    response = admin_api.get(URL, {"keys": "AWS_SECRET_ACCESS_KEY,AWS_ACCESS_KEY_ID"})
    assert response.status_code == 200
    assert response.json()["missing"] == ["AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"]
    assert "CANARY" not in response.content.decode()


def test_R20_without_the_aws_source_aws_variables_are_the_environments(admin_api, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "pipeline-key")
    response = admin_api.get(URL, {"keys": "AWS_ACCESS_KEY_ID"})
    assert response.status_code == 200
    assert response.json()["credentials"]["AWS_ACCESS_KEY_ID"]["value"] == "pipeline-key"


def test_R20_the_servers_own_postgres_sign_in_is_not_an_environment_answer(
        admin_api, monkeypatch, settings):
    monkeypatch.setenv("PGPASSWORD", "SERVER-PG-CANARY")
    # The rule reads the configured engine; the test's connection stays as it is.
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE",
                        "django.db.backends.postgresql")
    response = admin_api.get(URL, {"keys": "PGPASSWORD"})
    assert response.status_code == 200
    assert response.json()["missing"] == ["PGPASSWORD"]


def test_R20_a_browser_session_cannot_fetch_credentials(admin_client, stored):
    # Programs use tokens; a signed-in browser led to this URL by another page must not
    # spend its owner's decrypt budget or read values.
    response = admin_client.get(URL, {"keys": "API_KEY"})
    assert response.status_code == 401
    assert "VALUE" not in response.content.decode()
    assert not AuditLog.objects.filter(action=AuditAction.DECRYPT).exists()


def test_R20_without_the_listing_permission_aws_asks_for_each_name(settings):
    """ListSecrets refused (a policy that grants GetSecretValue only): every name is asked
    for, as before the listing, and the answer is the same."""
    from botocore.exceptions import ClientError

    from secrets_app.sources.aws import AWSSecretLoader

    asked = []

    class GetOnly:
        def get_paginator(self, name):
            raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "ListSecrets")

        def get_secret_value(self, SecretId):
            asked.append(SecretId)
            if SecretId == "kozmo/production/API_KEY":
                return {"SecretString": "from-aws"}
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "Get")

    loader = AWSSecretLoader(region="eu-west-1", prefix="kozmo/", cache_seconds=60)
    loader._client = GetOnly()
    answers = loader.lookup_many(["API_KEY", "OTHER"], "production")
    assert answers["API_KEY"].value.reveal() == "from-aws"
    assert "OTHER" not in answers
    assert "kozmo/production/OTHER" in asked and "kozmo/default/OTHER" in asked


def test_R20_run_with_secrets_holds_back_keys_that_choose_the_code_that_runs(admin_user,
                                                                            tmp_path, capsys):
    """The kozmo client's rule on the server too: an editor of a profile must not choose the
    operator's PATH or LD_PRELOAD (review C5)."""
    import sys

    create_secret(admin_user, name="preload", key="LD_PRELOAD", value="/opt/planted/evil.so")
    create_secret(admin_user, name="path", key="PYTHONSTARTUP", value="/opt/planted/evil.py")
    create_secret(admin_user, name="fine", key="API_KEY", value="v")
    seen = tmp_path / "seen.txt"
    script = ("import os, sys; open(sys.argv[1], 'w').write(' '.join(n for n in "
              "('LD_PRELOAD', 'PYTHONSTARTUP', 'API_KEY') if n in os.environ))")
    for extra in ([], ["--allow-env", "pythonstartup"]):
        with pytest.raises(SystemExit) as done:
            call_command("run_with_secrets", *extra, "--", sys.executable, "-c", script,
                         str(seen))
        assert done.value.code == 0
        expected = "PYTHONSTARTUP API_KEY" if extra else "API_KEY"
        assert seen.read_text() == expected
    err = capsys.readouterr().err
    assert "LD_PRELOAD" in err and "/opt/planted" not in err


def test_R20_a_key_longer_than_any_stored_key_is_refused(admin_api):
    response = admin_api.get(URL, {"keys": "K" * 256})
    assert response.status_code == 400
    assert "at most 255 characters" in response.json()["keys"][0]
    assert "K" * 100 not in response.content.decode()  # the name is shown cut
