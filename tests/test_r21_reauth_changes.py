"""R21.1 re-authentication, the other ways in (the outside review of issue 14, F1 to F7, is in
tests/review_i14/test_security_reauth*.py): from a stale session the console asks for the
password in the form of a change that matters in a protected profile (create, edit into or
out of one, import, API tokens, service tokens, grants); the API refuses a stale session's
unsafe requests (tokens and HTTP Basic are untouched); the Django admin sends a stale
session's changes through its sign-in; retired profiles are protected; `manage.py check`
warns when nothing is (kozmo.W003). A fresh session is never asked."""

import base64
import time

import pytest
from django.core import checks
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from audit_app.models import AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.models import ApiToken, ProfileGrant, ServiceToken
from secrets_app.access.reauth import SESSION_KEY, needs_reauth, session_is_stale
from secrets_app.access.tokens import create_token
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PASSWORD = "root-password"
CANARY = "CANARY-production-value"
ASKED = "Enter your password to go on."
WRONG = "That password is not right."
FIELD = 'name="password"'


@pytest.fixture
def prod(admin_user):
    # Named as a .env import names its entries: by the key.
    return create_secret(admin_user, name="POSTGRES_PASSWORD", key="POSTGRES_PASSWORD",
                         value=CANARY, profile="production")


@pytest.fixture
def dev(admin_user):
    return create_secret(admin_user, name="db-development", key="POSTGRES_PASSWORD",
                         value="dev-value", profile="development")


def sign_in(username="root", password=PASSWORD) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 302
    return client


def go_stale(client) -> Client:
    session = client.session
    session[SESSION_KEY] = time.time() - 3600
    session.save()
    return client


@pytest.fixture
def stale(admin_user):
    return go_stale(sign_in())


@pytest.fixture
def fresh(admin_user):
    return sign_in()


def stamp_of(client) -> float:
    return client.session[SESSION_KEY]


def failed_reauths():
    return AuditLog.objects.filter(action="LOGIN_FAILED", detail__check="re-authentication")


def edit(client, secret, password=None, **changes):
    data = {"name": secret.name, "key": secret.key, "category": secret.category,
            "profile": secret.profile, "description": "", "value": "", **changes}
    if password is not None:
        data["password"] = password
    return client.post(reverse("secrets:edit", args=[secret.pk]), data, **HTMX)


# --- the API with a console session ---------------------------------------------------------


def test_R21_1_api_a_stale_session_is_refused_unsafe_requests_and_told_why(stale, prod):
    url = reverse("api:secret-decrypt", args=[prod.pk])
    response = stale.post(url, "{}", content_type="application/json")
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "enter it again in the console or sign in again, or use an API token" in detail
    assert CANARY not in response.content.decode()
    denied = AuditLog.objects.filter(action="DENIED",
                                     detail__reason="re-authentication required").get()
    assert denied.username == "root"
    assert denied.secret_name == "POSTGRES_PASSWORD"


@pytest.mark.parametrize("route, body", [
    ("api:secret-ssh-tunnel", {"profile": "production"}),
    ("api:secret-list", {"name": "x", "key": "API_KEY", "value": "v", "profile": "production"}),
])
def test_R21_1_api_ssh_tunnel_and_create_from_a_stale_session_are_refused(stale, prod, route,
                                                                          body):
    response = stale.post(reverse(route), body, content_type="application/json")
    assert response.status_code == 403
    assert "browser session" in response.json()["detail"]
    assert not Secret.objects.filter(name="x").exists()


def test_R21_1_api_import_from_a_stale_session_is_refused(stale, prod):
    response = stale.post(reverse("api:secret-import-file") + "?profile=production",
                          b"POSTGRES_PASSWORD=attacker\n", content_type="application/yaml")
    assert response.status_code == 403
    assert Secret.objects.get(pk=prod.pk).value.reveal() == CANARY


def test_R21_1_api_a_stale_session_still_reads_lists(stale, prod):
    response = stale.get(reverse("api:secret-list"))
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_R21_1_api_a_fresh_session_is_not_asked(fresh, prod):
    response = fresh.post(reverse("api:secret-decrypt", args=[prod.pk]), "{}",
                          content_type="application/json")
    assert response.status_code == 200
    assert response.json()["value"] == CANARY


def test_R21_1_api_a_token_is_never_asked_even_beside_a_stale_session(stale, admin_user,
                                                                      prod, settings):
    settings.SECRETS_REAUTH_SECONDS = 0
    key = create_token(admin_user, "script")[1]
    response = stale.post(reverse("api:secret-decrypt", args=[prod.pk]), "{}",
                          content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.json()["value"] == CANARY


def test_R21_1_api_http_basic_still_mints_the_first_token(admin_user, settings):
    settings.SECRETS_REAUTH_SECONDS = 0
    basic = base64.b64encode(f"root:{PASSWORD}".encode()).decode()
    response = Client().post("/api/v1/tokens/", {"name": "laptop"},
                             content_type="application/json",
                             HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 201
    assert response.json()["key"]


# --- secret create and edit -----------------------------------------------------------------


def test_R21_1_edit_of_a_protected_secret_offers_the_field_at_once(stale, prod, dev):
    response = stale.get(reverse("secrets:edit", args=[prod.pk]), **HTMX)
    assert response.status_code == 200
    assert FIELD in response.text
    assert 'autocomplete="current-password"' in response.text
    assert "Changes in production ask for your password again when it was last entered " \
           "over 10 minutes ago." in response.text
    other = stale.get(reverse("secrets:edit", args=[dev.pk]), **HTMX)
    assert other.status_code == 200
    assert FIELD not in other.text


def test_R21_1_editing_a_default_secret_into_production_asks(stale, dev):
    response = edit(stale, dev, profile="production")
    assert response.status_code == 200
    assert ASKED in response.text
    assert FIELD in response.text
    assert Secret.objects.get(pk=dev.pk).profile == "development"
    saved = edit(stale, dev, profile="production", password=PASSWORD)
    assert saved.status_code == 204
    assert Secret.objects.get(pk=dev.pk).profile == "production"


def test_R21_1_a_wrong_password_in_the_form_is_refused_audited_and_not_echoed(stale, prod):
    response = edit(stale, prod, value="typed-new-value", password="guess-pw-1")
    assert response.status_code == 200
    assert WRONG in response.text
    assert "guess-pw-1" not in response.text
    assert "typed-new-value" in response.text  # the typed values come back, as on any error
    assert Secret.objects.get(pk=prod.pk).value.reveal() == CANARY
    row = failed_reauths().get()
    assert row.detail["action"] == "edit"
    assert "guess-pw-1" not in str(row.detail)


def test_R21_1_the_right_password_saves_and_restarts_the_clock(stale, prod):
    old = stamp_of(stale)
    response = edit(stale, prod, value="new-value", password=PASSWORD)
    assert response.status_code == 204
    assert Secret.objects.get(pk=prod.pk).value.reveal() == "new-value"
    assert stamp_of(stale) > old + 3000
    assert not failed_reauths().exists()


def test_R21_1_a_right_password_with_another_mistake_is_not_asked_again(stale, prod):
    response = edit(stale, prod, name="", password=PASSWORD)
    assert response.status_code == 200
    assert "This field is required." in response.text
    assert FIELD not in response.text  # the session is fresh now
    assert edit(stale, prod, value="v2").status_code == 204


def test_R21_1_a_fresh_session_edits_production_unasked(fresh, prod):
    assert FIELD not in fresh.get(reverse("secrets:edit", args=[prod.pk]), **HTMX).text
    assert edit(fresh, prod, value="v2").status_code == 204


def test_R21_1_unprotected_edits_from_a_stale_session_are_not_asked(stale, dev):
    assert edit(stale, dev, value="v2", profile="staging").status_code == 204


def test_R21_1_creating_into_production_asks(stale):
    data = {"name": "new", "key": "API_KEY", "value": "v", "category": "", "profile":
            "production", "description": ""}
    url = reverse("secrets:create")
    response = stale.post(url, data, **HTMX)
    assert response.status_code == 200
    assert ASKED in response.text
    assert not Secret.objects.filter(name="new").exists()
    assert stale.post(url, {**data, "password": PASSWORD}, **HTMX).status_code == 204
    assert Secret.objects.filter(name="new", profile="production").exists()
    # Into an unprotected profile: not asked.
    go_stale(stale)
    assert stale.post(url, {**data, "name": "dev", "profile": "development"},
                      **HTMX).status_code == 204


def test_R21_1_wrong_passwords_in_a_form_past_the_sign_in_limit_get_429(stale, prod,
                                                                        settings):
    settings.SECRETS_LOGIN_RATE_PER_USER = "3/15m"
    for _ in range(3):
        assert WRONG in edit(stale, prod, value="x", password="guess").text
    response = edit(stale, prod, value="x", password=PASSWORD)
    assert response.status_code == 429
    assert response["X-Error-Message"].startswith("Too many failed sign-ins.")
    assert Secret.objects.get(pk=prod.pk).value.reveal() == CANARY


# --- import ---------------------------------------------------------------------------------


def import_(client, profile, password=None):
    data = {"file": SimpleUploadedFile("x.env", b"POSTGRES_PASSWORD=imported\n"),
            "profile": profile, "templates": "fail"}
    if password is not None:
        data["password"] = password
    return client.post(reverse("secrets:import"), data, **HTMX)


def test_R21_1_import_offers_the_field_and_asks_before_reading_the_file(stale, prod):
    page = stale.get(reverse("secrets:import"), **HTMX)
    assert page.status_code == 200
    assert FIELD in page.text
    response = import_(stale, "production")
    assert response.status_code == 200
    assert ASKED in response.text
    assert 'data-testid="import-summary"' not in response.text
    assert Secret.objects.get(pk=prod.pk).value.reveal() == CANARY
    done = import_(stale, "production", PASSWORD)
    assert done.status_code == 200
    assert 'data-testid="import-summary"' in done.text
    assert Secret.objects.get(pk=prod.pk).value.reveal() == "imported"


def test_R21_1_import_of_every_profile_in_the_file_asks_too(stale, prod):
    assert ASKED in import_(stale, "").text


def test_R21_1_import_into_an_unprotected_profile_is_not_asked(stale, prod):
    response = import_(stale, "development")
    assert response.status_code == 200
    assert 'data-testid="import-summary"' in response.text


# --- API tokens, service tokens, grants ------------------------------------------------------


def test_R21_1_an_api_token_from_a_stale_admin_session_asks(stale):
    page = stale.get(reverse("settings"))
    assert page.status_code == 200
    assert FIELD in page.text
    response = stale.post(reverse("settings"), {"name": "t", "expires_in_days": 30})
    assert response.status_code == 200
    assert ASKED in response.text
    assert not ApiToken.objects.exists()
    done = stale.post(reverse("settings"), {"name": "t", "expires_in_days": 30,
                                            "password": PASSWORD})
    assert done.status_code == 200
    assert done.context["new_key"]
    assert ApiToken.objects.count() == 1


def test_R21_1_an_api_token_asks_a_member_only_when_they_read_a_protected_profile(
        admin_user, member):
    bob = go_stale(sign_in("bob", "bob-password"))
    add_grant(admin_user, member, "development", "reader")
    response = bob.post(reverse("settings"), {"name": "t", "expires_in_days": 30})
    assert response.status_code == 200
    assert response.context["new_key"]
    add_grant(admin_user, member, "production", "reader")
    go_stale(bob)
    response = bob.post(reverse("settings"), {"name": "t2", "expires_in_days": 30})
    assert ASKED in response.text
    assert ApiToken.objects.count() == 1


def service_token(client, profiles, password=None):
    data = {"name": "svc", "profiles": profiles, "keys": "", "allowed_networks": "",
            "expires_in_days": ""}
    if password is not None:
        data["password"] = password
    return client.post(reverse("secrets:service-tokens"), data)


def test_R21_1_a_production_service_token_asks_a_development_one_does_not(stale):
    assert FIELD in stale.get(reverse("secrets:service-tokens")).text
    response = service_token(stale, ["development", "production"])
    assert response.status_code == 200
    assert ASKED in response.text
    assert not ServiceToken.objects.exists()
    assert service_token(stale, ["development"]).context["new_key"]
    go_stale(stale)
    assert service_token(stale, ["production"], PASSWORD).context["new_key"]
    assert ServiceToken.objects.count() == 2


def grant(client, profile, password=None):
    data = {"user": "bob", "group": "", "profile": profile, "role": "reader"}
    if password is not None:
        data["password"] = password
    return client.post(reverse("secrets:access"), data)


def test_R21_1_a_grant_on_production_asks_one_on_development_does_not(stale, member):
    response = grant(stale, "production")
    assert response.status_code == 200
    assert ASKED in response.text
    assert not ProfileGrant.objects.filter(profile="production").exists()
    assert WRONG in grant(stale, "production", "guess").text
    assert grant(stale, "development").status_code == 200
    assert ProfileGrant.objects.filter(profile="development").exists()
    grant(stale, "production", PASSWORD)
    assert ProfileGrant.objects.filter(profile="production").exists()


def test_R21_1_a_fresh_session_makes_tokens_and_grants_unasked(fresh, member):
    assert FIELD not in fresh.get(reverse("settings")).text
    assert service_token(fresh, ["production"]).context["new_key"]
    grant(fresh, "production")
    assert ProfileGrant.objects.filter(profile="production").exists()


# --- the Django admin -----------------------------------------------------------------------


def test_R21_1_admin_changes_from_a_stale_session_go_through_its_sign_in(stale, admin_user):
    page = f"/admin/auth/user/{admin_user.pk}/change/"
    assert stale.get(page).status_code == 200  # reading stays
    response = stale.post(f"/admin/auth/user/{admin_user.pk}/password/",
                          {"password1": "Desk-Pw-9911", "password2": "Desk-Pw-9911"})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/admin/auth/user/")
    assert not admin_user.__class__.objects.get(pk=admin_user.pk).check_password("Desk-Pw-9911")
    login = stale.get(response["Location"])
    assert login.status_code == 200  # the form, not AdminSite's redirect to the index
    assert 'data-testid="admin-reauth-note"' in login.text
    assert "not authorized" not in login.text
    signed = stale.post(response["Location"], {"username": "root", "password": PASSWORD,
                                               "next": f"/admin/auth/user/{admin_user.pk}/"
                                                       "password/"})
    assert signed.status_code == 302
    assert signed["Location"] == f"/admin/auth/user/{admin_user.pk}/password/"
    assert stamp_of(stale) > time.time() - 5


def test_R21_1_admin_sign_out_from_a_stale_session_still_works(stale):
    response = stale.post("/admin/logout/")
    assert response.status_code in (200, 302)
    assert "/admin/login/" not in response.get("Location", "")
    assert "_auth_user_id" not in stale.session


def test_R21_1_admin_changes_from_a_fresh_session_are_carried_out(fresh, admin_user):
    fresh.get("/admin/login/")
    assert fresh.get("/admin/login/").status_code == 302  # signed in: the index
    response = fresh.post(f"/admin/auth/user/{admin_user.pk}/password/",
                          {"password1": "Desk-Pw-9911", "password2": "Desk-Pw-9911",
                           "usable_password": "true"})
    assert response.status_code == 302
    assert "/admin/login/" not in response["Location"]


# --- retired profiles, the clock, the warning -----------------------------------------------


def test_R21_1_a_retired_profile_is_protected_even_when_none_is_named(rf, settings, prod):
    settings.SECRETS_PROFILES = "default,dev,prod"
    settings.SECRETS_REAUTH_PROFILES = ""
    request = rf.post("/")
    request.session = {SESSION_KEY: time.time() - 3600}
    assert needs_reauth(request, "production")
    assert not needs_reauth(request, "prod")
    assert session_is_stale(request)  # a session's API request: a retired value is there
    Secret.objects.all().delete()
    assert not session_is_stale(request)


def test_R21_1_a_stamp_a_little_ahead_of_the_clock_still_counts(rf):
    request = rf.post("/")
    request.session = {SESSION_KEY: time.time() + 10}
    assert not needs_reauth(request, "production")


def warnings_w003():
    return [m for m in checks.run_checks() if m.id == "kozmo.W003"]


def test_R21_1_check_warns_when_the_default_protects_nothing(settings):
    settings.SECRETS_PROFILES = "default,dev,prod"
    settings.SECRETS_REAUTH_PROFILES = None
    (warning,) = warnings_w003()
    assert "SECRETS_REAUTH_PROFILES=prod" in warning.msg
    settings.SECRETS_REAUTH_PROFILES = "prod"
    assert not warnings_w003()
    settings.SECRETS_REAUTH_PROFILES = ""  # chosen, and documented: not warned
    assert not warnings_w003()
    settings.SECRETS_PROFILES = "default,production"
    settings.SECRETS_REAUTH_PROFILES = None
    assert not warnings_w003()
