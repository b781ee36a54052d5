"""A newcomer's first errors with `kozmo`, end to end against a live server (issue 13, R20).

Each test is a message a data engineer met while following README "Connect a program" and
docs/client.md, and that did not say what was wrong or what to do."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from secrets_app.access.service_tokens import create_service_token
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db(transaction=True)
REPO = Path(__file__).resolve().parents[2]


def kozmo(url, token, *argv):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KOZMO_") and "proxy" not in k.lower()}
    env.update(KOZMO_URL=url, KOZMO_TOKEN=token)
    return subprocess.run([sys.executable, "-m", "kozmo_secrets.client", *argv], cwd=REPO,
                          capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def prod_token(admin_user, live_server):
    """A Mage file imported with --templates skip: `prod` overrode POSTGRES_PASSWORD with a
    mage_secret_var, which was skipped, so only `default` holds POSTGRES_PASSWORD. The
    program's token reads `production` only (as README's "etl" token)."""
    create_secret(admin_user, name="POSTGRES_HOST", key="POSTGRES_HOST",
                  value="pg.prod.internal", profile="production")
    create_secret(admin_user, name="POSTGRES_PASSWORD", key="POSTGRES_PASSWORD",
                  value="dev-password")  # default only
    _, key = create_service_token(admin_user, name="etl", profiles=["production"],
                                  keys=["POSTGRES_*"])
    return live_server.url, key


def test_newcomer_a_key_only_default_holds_is_refused_naming_the_profile_asked(prod_token):
    """`kozmo get POSTGRES_PASSWORD --profile production` answered
    "the token may not read POSTGRES_PASSWORD in profile default": the user asked for
    production and never mentioned default. The message should say that production holds no
    such key and its fallback, default, is outside the token's scope."""
    # Since the security review (no fallback to a `default` the caller may not read, else
    # the answer tells what `default` holds) the key is not found in production, and the
    # message says why default was not asked.
    done = kozmo(*prod_token, "get", "POSTGRES_PASSWORD", "--profile", "production")
    assert done.returncode == 4, done.stderr
    assert "production" in done.stderr, done.stderr
    assert "default" in done.stderr, done.stderr


def test_newcomer_forgetting_profile_is_told_about_profile_flag(prod_token):
    """`kozmo run -- python3 etl.py` without --profile (the token reads production only)
    answered "the token may not read profile default. ... or leave those keys out": no key was
    named, and the fix (`--profile production`) is not mentioned."""
    done = kozmo(*prod_token, "run", "--", sys.executable, "-c", "pass")
    assert done.returncode == 6
    assert "--profile" in done.stderr, done.stderr


def test_newcomer_a_local_address_without_scheme_is_offered_the_address_make_run_serves():
    """KOZMO_URL=127.0.0.1:8000 (make run's address, scheme forgotten) answered "must start
    with https://, e.g. https://127.0.0.1:8000 (http:// only for a server on this machine, e.g.
    http://localhost:8000)": the address it offers first fails against make run (plain
    HTTP), and the one that works, http://127.0.0.1:8000, is not named. For a loopback
    address there is no plain-text risk to guard against."""
    done = kozmo("127.0.0.1:8000", "kzsvc_unused", "get", "POSTGRES_PASSWORD")
    assert done.returncode == 2
    assert "http://127.0.0.1:8000" in done.stderr, done.stderr
