"""R21.1: re-authentication before protected console actions. Revealing, restoring or
deleting a secret of a protected profile (SECRETS_REAUTH_PROFILES) asks for the password
again once it was last entered more than SECRETS_REAUTH_SECONDS ago; the sign-in throttle
counts and audits the re-entered password; API tokens are never asked.
tests/browser/test_reauth_browser.py drives the dialog in Chromium."""

import logging
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from audit_app.models import AuditLog
from secrets_app.access.reauth import (
    SESSION_KEY,
    check_reauth_settings,
    needs_reauth,
    parse_reauth_profiles,
)
from secrets_app.access.tokens import create_token
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret, update_secret
from secrets_app.startup import check_configuration

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PASSWORD = "root-password"


@pytest.fixture
def secrets(admin_user):
    made = {
        profile: create_secret(admin_user, name=f"db-{profile}", key="POSTGRES_PASSWORD",
                               value=f"CANARY-{profile}-1", profile=profile)
        for profile in ("development", "production")
    }
    for secret in made.values():
        update_secret(secret, admin_user, value=f"CANARY-{secret.profile}-2")
    return made


@pytest.fixture
def signed_in(client, admin_user):
    """The console as the superuser, signed in through the form (as a person would)."""
    response = client.post(reverse("login"), {"username": "root", "password": PASSWORD})
    assert response.status_code == 302
    return client


def go_stale(client, seconds_ago: int = 601) -> None:
    session = client.session
    session[SESSION_KEY] = time.time() - seconds_ago
    session.save()


def stamp_of(client) -> float:
    return client.session[SESSION_KEY]


def decrypt(client, secret, **data):
    return client.post(reverse("secrets:decrypt", args=[secret.pk]), data, **HTMX)


def restore(client, secret, number=1, **data):
    return client.post(reverse("secrets:restore", args=[secret.pk, number]), data, **HTMX)


def delete(client, secret, **data):
    return client.post(reverse("secrets:delete", args=[secret.pk]), data, **HTMX)


def is_prompt(response) -> bool:
    return (response.status_code == 200 and 'data-testid="reauth-form"' in response.text
            and response.headers.get("HX-Retarget") == "#dialog")


def failed_reauths():
    return AuditLog.objects.filter(action="LOGIN_FAILED", detail__check="re-authentication")


# --- when the password is asked for ---------------------------------------------------------


def test_R21_1_a_fresh_session_reveals_without_a_prompt(signed_in, secrets):
    response = decrypt(signed_in, secrets["production"])
    assert response.status_code == 200
    assert "CANARY-production-2" in response.text
    assert "reauth-form" not in response.text


def test_R21_1_sign_in_stamps_the_session(signed_in):
    assert abs(stamp_of(signed_in) - time.time()) < 5


def test_R21_1_a_stale_session_is_asked_and_nothing_is_revealed(signed_in, secrets):
    go_stale(signed_in)
    before = AuditLog.objects.filter(action="DECRYPT").count()
    response = decrypt(signed_in, secrets["production"])
    assert is_prompt(response)
    assert response.headers["HX-Reswap"] == "innerHTML"
    assert "CANARY" not in response.text
    assert AuditLog.objects.filter(action="DECRYPT").count() == before
    assert "no-store" in response.headers["Cache-Control"]
    # The dialog posts the same action again, into the row.
    assert f'hx-post="{reverse("secrets:decrypt", args=[secrets["production"].pk])}"' in (
        response.text)
    assert f'hx-target="#value-{secrets["production"].pk}"' in response.text
    assert 'hx-swap="outerHTML"' in response.text
    assert "autofocus" in response.text


def test_R21_1_a_session_without_a_stamp_is_asked(client, admin_user, secrets):
    client.force_login(admin_user)
    session = client.session
    del session[SESSION_KEY]
    session.save()
    assert is_prompt(decrypt(client, secrets["production"]))


def test_R21_1_the_right_password_reveals_and_restarts_the_clock(signed_in, secrets):
    go_stale(signed_in)
    old = stamp_of(signed_in)
    response = decrypt(signed_in, secrets["production"], password=PASSWORD)
    assert response.status_code == 200
    assert "CANARY-production-2" in response.text
    assert "close-dialog" in response.headers["HX-Trigger-After-Swap"]
    assert "HX-Retarget" not in response.headers
    assert stamp_of(signed_in) > old + 500
    assert not failed_reauths().exists()
    # The clock restarted: the next reveal is not asked.
    assert "CANARY-production-2" in decrypt(signed_in, secrets["production"]).text


def test_R21_1_a_wrong_password_is_refused_audited_and_counted(signed_in, secrets, caplog):
    go_stale(signed_in)
    old = stamp_of(signed_in)
    with caplog.at_level(logging.DEBUG):
        response = decrypt(signed_in, secrets["production"], password="guess-123")
    assert is_prompt(response)
    assert "That password is not right." in response.text
    assert "CANARY" not in response.text
    assert "guess-123" not in response.text
    assert "guess-123" not in caplog.text
    assert stamp_of(signed_in) == old
    row = failed_reauths().get()
    assert row.username == "root"
    assert row.allowed is False
    assert row.detail["action"] == "decrypt"
    assert row.secret_name == "db-production"
    assert row.secret_profile == "production"
    assert "guess-123" not in str(row.detail)


def test_R21_1_an_empty_password_asks_again_uncounted(signed_in, secrets):
    go_stale(signed_in)
    response = decrypt(signed_in, secrets["production"], password="")
    assert is_prompt(response)
    assert "Enter your password to go on." in response.text
    assert not failed_reauths().exists()


def test_R21_1_wrong_passwords_past_the_sign_in_limit_get_429(signed_in, secrets, settings):
    settings.SECRETS_LOGIN_RATE_PER_USER = "3/15m"
    go_stale(signed_in)
    for _ in range(3):
        assert "That password is not right." in decrypt(
            signed_in, secrets["production"], password="guess").text
    response = decrypt(signed_in, secrets["production"], password="guess")
    assert response.status_code == 429
    assert response.text.startswith("Too many failed sign-ins.")
    assert response["X-Error-Message"] == response.text
    assert int(response["Retry-After"]) > 0
    # The right password does not get through either: the budget is the sign-in's.
    response = decrypt(signed_in, secrets["production"], password=PASSWORD)
    assert response.status_code == 429
    assert "CANARY" not in response.text
    assert failed_reauths().count() == 3


def test_R21_1_re_entered_passwords_share_the_sign_in_budget(client, signed_in, secrets,
                                                             settings):
    settings.SECRETS_LOGIN_RATE_PER_USER = "3/15m"
    go_stale(signed_in)
    for _ in range(3):
        decrypt(signed_in, secrets["production"], password="guess")
    client.logout()
    response = client.post(reverse("login"), {"username": "root", "password": PASSWORD})
    assert response.status_code == 200  # the form again, with the throttle's message
    assert "Too many failed sign-ins." in response.text


def test_R21_1_zero_seconds_asks_every_time(signed_in, secrets, settings):
    settings.SECRETS_REAUTH_SECONDS = 0
    assert is_prompt(decrypt(signed_in, secrets["production"]))
    assert "CANARY-production-2" in decrypt(
        signed_in, secrets["production"], password=PASSWORD).text
    assert is_prompt(decrypt(signed_in, secrets["production"]))


def test_R21_1_an_unprotected_profile_never_asks(signed_in, secrets, settings):
    settings.SECRETS_REAUTH_SECONDS = 0
    assert "CANARY-development-2" in decrypt(signed_in, secrets["development"]).text
    assert restore(signed_in, secrets["development"]).status_code == 204
    assert Secret.objects.get(pk=secrets["development"].pk).value.reveal() == (
        "CANARY-development-1")


def test_R21_1_the_protected_profiles_follow_the_setting(signed_in, secrets, settings):
    settings.SECRETS_REAUTH_SECONDS = 0
    settings.SECRETS_REAUTH_PROFILES = "development"
    assert "CANARY-production-2" in decrypt(signed_in, secrets["production"]).text
    assert is_prompt(decrypt(signed_in, secrets["development"]))
    settings.SECRETS_REAUTH_PROFILES = ""
    assert "CANARY-development-2" in decrypt(signed_in, secrets["development"]).text


def test_R21_1_someone_who_may_not_read_is_refused_not_asked(client, member, secrets,
                                                             settings):
    settings.SECRETS_REAUTH_SECONDS = 0
    client.force_login(member)
    response = decrypt(client, secrets["production"])
    assert "reauth-form" not in response.text
    assert "CANARY" not in response.text


# --- restore and delete ---------------------------------------------------------------------


def test_R21_1_restore_is_gated_the_same(signed_in, secrets):
    secret = secrets["production"]
    go_stale(signed_in)
    response = restore(signed_in, secret)
    assert is_prompt(response)
    assert f'hx-post="{reverse("secrets:restore", args=[secret.pk, 1])}"' in response.text
    assert 'hx-target="#dialog"' in response.text
    assert Secret.objects.get(pk=secret.pk).value.reveal() == "CANARY-production-2"
    assert "That password is not right." in restore(signed_in, secret, password="no").text
    assert Secret.objects.get(pk=secret.pk).value.reveal() == "CANARY-production-2"
    response = restore(signed_in, secret, password=PASSWORD)
    assert response.status_code == 204
    assert Secret.objects.get(pk=secret.pk).value.reveal() == "CANARY-production-1"
    assert failed_reauths().get().detail["action"] == "restore"


def test_R21_1_delete_is_gated_the_same(signed_in, secrets):
    secret = secrets["production"]
    go_stale(signed_in)
    assert signed_in.get(reverse("secrets:delete", args=[secret.pk]), **HTMX).status_code == 200
    response = delete(signed_in, secret)
    assert is_prompt(response)
    assert Secret.objects.filter(pk=secret.pk).exists()
    assert "That password is not right." in delete(signed_in, secret, password="no").text
    assert Secret.objects.filter(pk=secret.pk).exists()
    response = delete(signed_in, secret, password=PASSWORD)
    assert response.status_code == 204
    assert not Secret.objects.filter(pk=secret.pk).exists()
    assert failed_reauths().get().detail["action"] == "delete"


def test_R21_1_delete_in_an_unprotected_profile_is_not_asked(signed_in, secrets, settings):
    settings.SECRETS_REAUTH_SECONDS = 0
    assert delete(signed_in, secrets["development"]).status_code == 204


# --- what is never asked --------------------------------------------------------------------


def test_R21_1_api_token_decrypt_never_asks(api, admin_user, secrets, settings):
    settings.SECRETS_REAUTH_SECONDS = 0
    api.credentials(HTTP_AUTHORIZATION=f"Token {create_token(admin_user, 't')[1]}")
    response = api.post(reverse("api:secret-decrypt", args=[secrets["production"].pk]))
    assert response.status_code == 200
    assert response.json()["value"] == "CANARY-production-2"


def test_R21_1_a_request_without_a_session_is_never_asked(rf, settings):
    settings.SECRETS_REAUTH_SECONDS = 0
    assert needs_reauth(rf.get("/"), "production") is False


# --- the settings ---------------------------------------------------------------------------


def test_R21_1_the_default_protects_production_when_it_is_configured():
    assert parse_reauth_profiles(None, ("default", "production")) == ("production",)
    assert parse_reauth_profiles(None, ("default", "prod")) == ()
    assert parse_reauth_profiles("", ("default", "production")) == ()
    assert parse_reauth_profiles(" prod , default ", ("default", "prod")) == ("prod", "default")
    assert parse_reauth_profiles(["prod"], ("default", "prod")) == ("prod",)


def test_R21_1_an_unknown_profile_stops_start_up(settings):
    settings.SECRETS_REAUTH_PROFILES = "production,prodution"
    with pytest.raises(ImproperlyConfigured, match=(
            r"SECRETS_REAUTH_PROFILES: 'prodution' is not a configured profile: use names "
            r"from SECRETS_PROFILES \(default, development, staging, production\)")):
        check_configuration()


@pytest.mark.parametrize("seconds", [-1, "600", 1.5, True])
def test_R21_1_reauth_seconds_must_be_a_whole_number_not_negative(settings, seconds):
    settings.SECRETS_REAUTH_SECONDS = seconds
    with pytest.raises(ImproperlyConfigured, match="SECRETS_REAUTH_SECONDS must be a whole"):
        check_reauth_settings()


def test_R21_1_the_environment_feeds_the_settings(tmp_path):
    import os
    import subprocess
    import sys

    from tests.helpers import ROOT

    env = {**os.environ, "SECRETS_REAUTH_PROFILES": "staging", "SECRETS_REAUTH_SECONDS": "90",
           "DJANGO_SETTINGS_MODULE": "kozmo_secrets.settings"}
    script = ("from django.conf import settings; "
              "print(settings.SECRETS_REAUTH_PROFILES, settings.SECRETS_REAUTH_SECONDS)")
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT,
                            capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["staging", "90"]
