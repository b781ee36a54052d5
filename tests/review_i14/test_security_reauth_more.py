"""Outside security review of issue 14 (R21.1), continued: ways around the password dialog
through accounts, grants, profile settings and the clock. Each test fails on main 338a4a5."""

import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from secrets_app.access.reauth import SESSION_KEY, needs_reauth, protected_profiles
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
CANARY = "CANARY-production-value"


@pytest.fixture
def prod(admin_user):
    return create_secret(admin_user, name="db-production", key="POSTGRES_PASSWORD",
                         value=CANARY, profile="production")


def signed_in_stale(username, password):
    client = Client(enforce_csrf_checks=True)
    token = client.get(reverse("login")).cookies["csrftoken"].value
    response = client.post(reverse("login"), {"username": username, "password": password,
                                              "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    session = client.session
    session[SESSION_KEY] = time.time() - 3600
    session.save()
    client.csrf = client.cookies["csrftoken"].value
    return client


def reveal(client, secret, **data):
    return client.post(reverse("secrets:decrypt", args=[secret.pk]), data,
                       HTTP_X_CSRFTOKEN=client.csrf, **HTMX)


# --- F4 (Medium): a superuser's stale session sets a new password in Django admin (no old
# password asked: AdminPasswordChangeForm), then "re-authenticates" with it.
# Steps: /admin/auth/user/<own id>/password/ → new password twice → Save (the session stays
# signed in: update_session_auth_hash) → reveal → the dialog → the new password → plaintext.
# Fix: ask for the current password (the R21.1 gate) before the admin's user password form,
# for one's own account at least; or require a fresh stamp for every /admin/ POST.


def test_F4_admin_password_reset_of_own_account_is_behind_the_reauth_gate(admin_user, prod):
    desk = signed_in_stale("root", "root-password")
    assert 'data-testid="reauth-form"' in reveal(desk, prod).text
    response = desk.post(f"/admin/auth/user/{admin_user.pk}/password/", {
        "password1": "desk-chosen-Pw-9911", "password2": "desk-chosen-Pw-9911",
        "usable_password": "true", "csrfmiddlewaretoken": desk.csrf})
    changed = get_user_model().objects.get(pk=admin_user.pk).check_password(
        "desk-chosen-Pw-9911")
    if changed:
        answer = reveal(desk, prod, password="desk-chosen-Pw-9911")
        assert CANARY not in answer.text, (
            "a password set in /admin/ without the old one passed re-authentication")
    assert not changed, f"admin set a new password from a stale session ({response.status_code})"


# --- F5 (Medium): a stale admin session grants someone reader on production, no password.
# Steps: a colleague with a member account sits at the admin's open console: Settings →
# Access → user <self>, production, reader → Add; then reveals in their own (fresh) session.
# Fix: the R21.1 gate before adding a grant on a protected profile (reader or editor), and
# before making a service token that reads one (see F2).


def test_F5_granting_a_protected_profile_from_a_stale_session_asks_for_the_password(
        secrets_admin, member, prod):
    desk = signed_in_stale("alice", "alice-password")
    assert 'data-testid="reauth-form"' in reveal(desk, prod).text
    desk.post(reverse("secrets:access"), {"user": "bob", "group": "", "profile": "production",
                                          "role": "reader", "csrfmiddlewaretoken": desk.csrf})
    bob = Client()
    bob.force_login(member)
    answer = bob.post(reverse("secrets:decrypt", args=[prod.pk]), **HTMX)
    assert CANARY not in answer.text, (
        "a grant on production was added from a stale session without the password")


# --- F6 (Medium): renamed / retired profiles leave production values unguarded, silently.
# (a) SECRETS_PROFILES=default,dev,prod (the Mage names R22 invites) with
#     SECRETS_REAUTH_PROFILES unset protects nothing, and start-up says nothing.
# (b) Secrets still stored in a profile taken out of SECRETS_PROFILES (R22.1: "its secrets stay
#     listed") cannot be protected at all: naming it in SECRETS_REAUTH_PROFILES stops start-up,
#     so they are revealed without the password.
# Fix: (a) a start-up warning (kozmo.W0xx) or refusal when the default protects no profile
# while a profile looks like production (prod*, live); (b) accept in SECRETS_REAUTH_PROFILES
# any profile that still holds secrets (or protect retired profiles always).


def test_F6a_renamed_production_profile_is_not_left_unprotected_silently(settings):
    settings.SECRETS_PROFILES = "default,dev,prod"
    settings.SECRETS_REAUTH_PROFILES = None
    from django.core import checks
    warned = [m for m in checks.run_checks() if "REAUTH" in str(m.msg).upper()
              or "re-auth" in str(m.msg).lower()]
    assert protected_profiles() or warned, (
        "with profiles dev/prod the default protects no profile and nothing warns")


def test_F6b_a_retired_production_profile_still_asks_for_the_password(admin_user, prod,
                                                                     settings):
    settings.SECRETS_PROFILES = "default,dev,prod"
    settings.SECRETS_REAUTH_PROFILES = "prod"  # "production" here would stop start-up
    assert Secret.objects.filter(profile="production").exists()
    desk = signed_in_stale("root", "root-password")
    answer = reveal(desk, prod)
    assert CANARY not in answer.text, (
        "a secret left in a retired profile is revealed to a stale session, unasked")


# --- F7 (Low): a password stamp in the future counts as fresh for as long as it is ahead.
# Steps: the server's clock steps back (NTP correction, VM restore, a host moved) by an hour
# after a sign-in: time.time() - entered_at is negative for that hour, so no reveal asks.
# Fix: in needs_reauth, treat entered_at > now (+ a small slack) as stale; or use a stamp the
# clock cannot move backwards (time.monotonic is per process, so: compare both ways).


def test_F7_a_stamp_from_the_future_is_stale(rf, settings):
    settings.SECRETS_REAUTH_SECONDS = 600
    request = rf.post("/")
    request.session = {SESSION_KEY: time.time() + 3600}
    assert needs_reauth(request, "production")
