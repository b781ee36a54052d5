"""B2-B5: the no-fallback rule (a caller who may not read `default` learns nothing of what
`default` or the server's environment hold) on the ways to read other than /credentials.
Each test FAILS while the hole is open."""

import contextlib
import io
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from secrets_app.access.grants import add_grant
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

TUNNEL = "/api/v1/secrets/ssh-tunnel/"


def production_reader(django_user_model, admin_user):
    user = django_user_model.objects.create_user("pia", password="pia-password")
    add_grant(admin_user, user, "production", "reader")
    return user


# --- B2 (low): the Catalog tells anyone signed in what the server's environment holds -------


def test_B2_catalog_tells_a_user_without_grants_what_the_servers_environment_holds(
        client, member, monkeypatch):
    """A member with no grant at all (and a production-only reader alike) sees, per profile,
    `environment` for every ConfigKey the server process has set: exactly the oracle the
    first pass closed on /credentials (`fallback: false`). Here: the server's own SSH_HOST
    and SNOWFLAKE_PASSWORD, in every column, production's included."""
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "server-env-value")
    client.force_login(member)
    response = client.get("/catalog/")
    assert response.status_code == 200
    page = response.content.decode()
    row = page[page.index("<code>SNOWFLAKE_PASSWORD</code>"):]
    row = row[:row.index("</tr>")]
    assert "environment" not in row, row


# --- B3 (low): ssh-tunnel answers 403 or 404 by what `default`/the environment hold ---------


def test_B3_ssh_tunnel_refusal_tells_a_production_reader_that_the_environment_has_ssh_host(
        django_user_model, admin_user, monkeypatch):
    """A production-only reader asks for production's tunnel; production has none. With no
    SSH_HOST anywhere: 404 "No SSH tunnel in this profile". With the server's environment
    holding SSH_HOST: 403 (stored_in says `default`). The status says whether the server's
    environment (or `default`) holds SSH_HOST; without fallback both answers are 404."""
    user = production_reader(django_user_model, admin_user)
    api = APIClient()
    api.force_authenticate(user)
    without = api.post(TUNNEL, {"profile": "production"}, format="json")
    monkeypatch.setenv("SSH_HOST", "bastion.internal")
    with_env = api.post(TUNNEL, {"profile": "production"}, format="json")
    assert without.status_code == 404
    assert with_env.status_code == without.status_code, with_env.content


def test_B3_ssh_tunnel_from_keys_mixes_profiles_instead_of_using_productions_own(
        django_user_model, admin_user):
    """production holds SSH_HOST and SSH_USERNAME; default holds SSH_PASSWORD. The
    production-only reader is refused (403) outright, where /credentials answers
    production's own keys with `fallback: false`: the tunnel should be production's own
    (no password), not a refusal that also tells `default` has SSH_PASSWORD."""
    create_secret(admin_user, name="h", key="SSH_HOST", value="bastion", profile="production")
    create_secret(admin_user, name="u", key="SSH_USERNAME", value="deploy",
                  profile="production")
    user = production_reader(django_user_model, admin_user)
    api = APIClient()
    api.force_authenticate(user)
    before = api.post(TUNNEL, {"profile": "production"}, format="json")
    create_secret(admin_user, name="p", key="SSH_PASSWORD", value="DEFAULT-ONLY",
                  profile="default")
    after = api.post(TUNNEL, {"profile": "production"}, format="json")
    assert before.status_code == 200, before.content
    assert after.status_code == 200, after.content
    assert "DEFAULT-ONLY" not in after.content.decode()


# --- B4 (low): resolve_credential --as prints where default/the environment answer ----------


def test_B4_resolve_credential_as_a_production_reader_names_defaults_source(
        django_user_model, admin_user, monkeypatch):
    """`resolve_credential KEY --profile production --as pia` (no --reveal) runs
    resolve_many with the fallback and no scope check at all: it prints `environment` for a
    key only the server's environment holds, and `database` for one only `default` holds.
    R20's rule (no fallback for who may not read `default`) says: not found."""
    production_reader(django_user_model, admin_user)
    monkeypatch.setenv("ONLY_SERVER_ENV", "x")
    create_secret(admin_user, name="d", key="ONLY_IN_DEFAULT", value="v", profile="default")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.suppress(CommandError):
        call_command("resolve_credential", "ONLY_SERVER_ENV", "ONLY_IN_DEFAULT",
                     "--profile", "production", "--as", "pia", stdout=out, stderr=err)
    assert "environment" not in out.getvalue(), out.getvalue()
    assert "database" not in out.getvalue(), out.getvalue()


# --- B5 (low): run_with_secrets --as refuses where /credentials answers without fallback ----


def test_B5_run_with_secrets_as_a_production_reader_is_refused_because_default_has_a_key(
        django_user_model, admin_user, tmp_path):
    """profile_secrets() always adds `default`'s keys, so a production-only reader can run
    nothing once `default` holds any key production lacks (and the refusal tells so). The
    rule elsewhere: production's own entries only."""
    production_reader(django_user_model, admin_user)
    create_secret(admin_user, name="a", key="APP_TOKEN", value="prod", profile="production")
    create_secret(admin_user, name="b", key="OTHER_KEY", value="dflt", profile="default")
    seen = tmp_path / "seen"
    err = io.StringIO()
    code = None
    try:
        call_command("run_with_secrets", "--profile", "production", "--as", "pia", "--",
                     sys.executable, "-c",
                     f"import os; open({str(seen)!r}, 'w').write(os.environ.get('APP_TOKEN', "
                     "'') + '|' + os.environ.get('OTHER_KEY', ''))",
                     stdout=io.StringIO(), stderr=err)
    except SystemExit as exit_:
        code = exit_.code
    except CommandError as error:
        pytest.fail(f"refused: {error}")
    except Exception as error:  # the R2.2 refusal
        pytest.fail(f"refused: {type(error).__name__}: {error}")
    assert code == 0, err.getvalue()
    assert seen.read_text() == "prod|"


def test_B3_ssh_tunnel_reads_defaults_ssh_port_before_the_scope_check(
        django_user_model, admin_user, monkeypatch):
    """resolve_ssh_tunnel opens SSH_HOST/SSH_PORT/SSH_USERNAME of `default` (or the server's
    environment) and parses SSH_PORT before _admit_stored_in runs: a production-only reader
    gets 400 "SSH_PORT is not a port number" when the server's SSH_PORT is not numeric and
    403 when it is, one bit of a value it may not read. Expected: the same refusal (or 404)."""
    create_secret(admin_user, name="h", key="SSH_HOST", value="bastion", profile="production")
    user = production_reader(django_user_model, admin_user)
    api = APIClient()
    api.force_authenticate(user)
    monkeypatch.setenv("SSH_PORT", "22")
    numeric = api.post(TUNNEL, {"profile": "production"}, format="json")
    monkeypatch.setenv("SSH_PORT", "not-a-port")
    text = api.post(TUNNEL, {"profile": "production"}, format="json")
    assert text.status_code == numeric.status_code, (numeric.content, text.content)
