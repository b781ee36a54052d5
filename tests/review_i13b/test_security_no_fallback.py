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


# --- B3 (low): ssh-tunnel answers 403 or 404 by what `default`/the environment hold ---------


def test_B3_ssh_tunnel_of_default_is_refused_to_a_production_reader_without_its_parts(
        django_user_model, admin_user, monkeypatch):
    """Decided (R18, kept from issue 12): a tunnel is one object; made from `default`'s parts
    (or the server's environment, which counts as `default`) it is `default`'s to give, and
    a production-only reader is refused it, audited. The refusal carries no part of it."""
    user = production_reader(django_user_model, admin_user)
    api = APIClient()
    api.force_authenticate(user)
    assert api.post(TUNNEL, {"profile": "production"}, format="json").status_code == 404
    monkeypatch.setenv("SSH_HOST", "bastion.internal")
    with_env = api.post(TUNNEL, {"profile": "production"}, format="json")
    assert with_env.status_code == 403, with_env.content
    assert with_env.json() == {"detail": "Admin privileges required"}


def test_B3_a_tunnel_mixing_profiles_is_refused_without_a_value(django_user_model,
                                                                 admin_user):
    """Decided (R18): production's SSH_HOST with `default`'s SSH_PASSWORD is one tunnel made
    partly of `default`: refused to a production-only reader, and no part leaks."""
    create_secret(admin_user, name="h", key="SSH_HOST", value="bastion", profile="production")
    create_secret(admin_user, name="u", key="SSH_USERNAME", value="deploy",
                  profile="production")
    user = production_reader(django_user_model, admin_user)
    api = APIClient()
    api.force_authenticate(user)
    assert api.post(TUNNEL, {"profile": "production"}, format="json").status_code == 200
    create_secret(admin_user, name="p", key="SSH_PASSWORD", value="DEFAULT-ONLY",
                  profile="default")
    after = api.post(TUNNEL, {"profile": "production"}, format="json")
    assert after.status_code == 403, after.content
    assert "DEFAULT-ONLY" not in after.content.decode()
    assert "bastion" not in after.content.decode()


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


def test_B5_run_with_secrets_as_a_production_reader_is_refused_without_running(
        django_user_model, admin_user, tmp_path):
    """Decided (R16, R18, kept from issue 12): run_with_secrets passes a profile as a program
    sees it, `default`'s keys included; an --as user who may not read `default` is refused
    the whole run (audited) rather than given a partial environment. Nothing runs."""
    production_reader(django_user_model, admin_user)
    create_secret(admin_user, name="a", key="APP_TOKEN", value="prod", profile="production")
    create_secret(admin_user, name="b", key="OTHER_KEY", value="dflt", profile="default")
    seen = tmp_path / "seen"
    with pytest.raises(CommandError, match="no reader grant on default"):
        call_command("run_with_secrets", "--profile", "production", "--as", "pia", "--",
                     sys.executable, "-c", f"open({str(seen)!r}, 'w').write('ran')",
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert not seen.exists()


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
