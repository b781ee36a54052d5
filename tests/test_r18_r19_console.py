"""The console side of per-profile grants (R18) and service tokens (R19): per-row controls by
role, the forms' profiles, refusals (403 page, one DENIED row), Settings → Access and
Settings → Service tokens. tests/browser/test_access_browser.py drives the same pages in
Chromium."""

import logging
import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile

from audit_app.models import AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.models import ProfileGrant, ServiceToken
from secrets_app.access.policy import access_of
from secrets_app.access.service_tokens import create_service_token, revoke_service_token
from secrets_app.access.tokens import create_token
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
ROW_CONTROLS = ("decrypt", "edit", "versions", "delete")


@pytest.fixture
def reader(admin_user):
    user = User.objects.create_user("rita", None, "rita-password")
    add_grant(admin_user, user, "development", "reader")
    return user


@pytest.fixture
def editor(admin_user):
    user = User.objects.create_user("eddie", None, "eddie-password")
    add_grant(admin_user, user, "development", "editor")
    return user


@pytest.fixture
def secrets(admin_user):
    return {
        profile: create_secret(admin_user, name=f"db-{profile}", key="POSTGRES_PASSWORD",
                               value=f"CANARY-{profile}", profile=profile)
        for profile in ("development", "production")
    }


@pytest.fixture
def as_role(client, admin_user, reader, editor, member):
    """Sign the test client in as one of the cast, by role."""
    cast = {"admin": admin_user, "reader": reader, "editor": editor, "plain": member}

    def sign_in(role):
        client.force_login(cast[role])
        return client

    return sign_in


def denied_rows():
    return list(AuditLog.objects.filter(action="DENIED"))


def row_html(html: str, profile: str) -> str:
    match = re.search(rf'<tr data-testid="secret-row"[^>]*data-profile="{profile}">(.*?)</tr>',
                      html, re.S)
    assert match, f"no row of {profile}"
    return match.group(1)


def controls_in(fragment: str) -> set[str]:
    return {name for name in ROW_CONTROLS if f'data-testid="{name}"' in fragment}


def offered_profiles(html: str) -> list[str]:
    select = re.search(r'<select name="profile"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"', select)


# --- the secrets list: controls per role ------------------------------------------------


@pytest.mark.parametrize("role, development, production, creates", [
    ("admin", set(ROW_CONTROLS), set(ROW_CONTROLS), True),
    ("reader", {"decrypt"}, set(), False),
    ("editor", set(ROW_CONTROLS), set(), True),
    ("plain", set(), set(), False),
])
def test_R18_the_list_shows_each_control_where_the_user_may_use_it(
        as_role, secrets, role, development, production, creates):
    response = as_role(role).get("/secrets/")
    assert response.status_code == 200
    html = response.content.decode()
    assert controls_in(row_html(html, "development")) == development
    assert controls_in(row_html(html, "production")) == production
    assert ('data-testid="new-secret"' in html) is creates
    assert ('data-testid="import"' in html) is creates
    assert "CANARY" not in html


def test_R18_the_masked_cell_swapped_back_keeps_the_rule(as_role, secrets):
    client = as_role("reader")
    development = client.get(f"/secrets/{secrets['development'].pk}/masked/", **HTMX)
    production = client.get(f"/secrets/{secrets['production'].pk}/masked/", **HTMX)
    assert development.status_code == production.status_code == 200
    assert 'data-testid="decrypt"' in development.content.decode()
    assert 'data-testid="decrypt"' not in production.content.decode()


def test_R18_access_is_asked_once_per_request(as_role, secrets, django_assert_max_num_queries):
    client = as_role("editor")
    client.get("/secrets/")  # warm the session and the list's cached count
    with django_assert_max_num_queries(12) as queries:
        assert client.get("/secrets/").status_code == 200
    grant_queries = [q for q in queries.captured_queries if "profilegrant" in q["sql"].lower()]
    assert len(grant_queries) == 1


# --- the forms offer only the profiles the user may write -------------------------------


@pytest.mark.parametrize("role, offered", [
    ("admin", ["default", "development", "staging", "production"]),
    ("editor", ["development"]),
])
def test_R18_the_create_form_offers_the_writable_profiles(as_role, role, offered):
    response = as_role(role).get("/secrets/new/", **HTMX)
    assert response.status_code == 200
    assert offered_profiles(response.content.decode()) == offered


def test_R18_the_edit_and_import_forms_offer_the_writable_profiles(as_role, secrets):
    client = as_role("editor")
    edit = client.get(f"/secrets/{secrets['development'].pk}/edit/", **HTMX)
    assert edit.status_code == 200
    assert offered_profiles(edit.content.decode()) == ["development"]
    upload = client.get("/secrets/import/", **HTMX)
    assert upload.status_code == 200
    assert offered_profiles(upload.content.decode()) == ["", "development"]


# --- refusals: the 403 page, one DENIED row ---------------------------------------------


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_R18_a_forged_create_in_another_profile_is_refused_once(as_role, headers):
    response = as_role("editor").post("/secrets/new/", {
        "name": "sneaky", "key": "API_TOKEN", "value": "FORGED-VALUE", "profile": "production",
    }, **headers)
    assert response.status_code == 403
    assert response["X-Error-Message"] == "Admin privileges required"
    assert 'data-testid="forbidden"' in response.content.decode()
    assert not Secret.objects.filter(name="sneaky").exists()
    [row] = denied_rows()
    assert (row.username, row.secret_profile, row.allowed) == ("eddie", "production", False)
    assert "FORGED-VALUE" not in str(row.detail)


def test_R18_moving_a_secret_to_a_profile_one_may_not_write_is_refused_once(
        as_role, secrets):
    secret = secrets["development"]
    response = as_role("editor").post(f"/secrets/{secret.pk}/edit/", {
        "name": secret.name, "key": secret.key, "value": "", "profile": "production",
    }, **HTMX)
    assert response.status_code == 403
    secret.refresh_from_db()
    assert secret.profile == "development"
    assert len(denied_rows()) == 1


@pytest.mark.parametrize("role, method, path", [
    ("reader", "get", "/secrets/new/"),
    ("reader", "get", "/secrets/import/"),
    ("plain", "post", "/secrets/new/"),
    ("reader", "get", "/secrets/{development}/edit/"),
    ("reader", "post", "/secrets/{development}/delete/"),
    ("editor", "get", "/secrets/{production}/edit/"),
    ("editor", "post", "/secrets/{production}/edit/"),
    ("editor", "get", "/secrets/{production}/delete/"),
    ("editor", "post", "/secrets/{production}/delete/"),
    ("editor", "get", "/secrets/{production}/versions/"),
    ("editor", "post", "/secrets/{production}/versions/1/restore/"),
])
def test_R18_what_the_page_did_not_offer_is_refused_once(as_role, secrets, role, method,
                                                         path):
    before = sorted(Secret.objects.values_list("pk", "name", "profile", "updated_at"))
    url = path.format(**{profile: secret.pk for profile, secret in secrets.items()})
    response = getattr(as_role(role), method)(url, {
        "name": "hacked", "key": "API_TOKEN", "value": "HACKED", "profile": "development",
    }, **HTMX)
    assert response.status_code == 403
    assert len(denied_rows()) == 1
    assert sorted(Secret.objects.values_list("pk", "name", "profile", "updated_at")) == before


def test_R18_an_editor_changes_and_deletes_in_their_profile(as_role, secrets):
    client = as_role("editor")
    secret = secrets["development"]
    edited = client.post(f"/secrets/{secret.pk}/edit/", {
        "name": "db-dev", "key": secret.key, "value": "", "profile": "development",
    }, **HTMX)
    assert edited.status_code == 204
    assert client.get(f"/secrets/{secret.pk}/versions/", **HTMX).status_code == 200
    assert client.post(f"/secrets/{secret.pk}/delete/", **HTMX).status_code == 204
    assert not Secret.objects.filter(pk=secret.pk).exists()
    assert denied_rows() == []


def test_R18_a_reader_decrypts_in_their_profile_only(as_role, secrets):
    client = as_role("reader")
    shown = client.post(f"/secrets/{secrets['development'].pk}/decrypt/", **HTMX)
    assert shown.status_code == 200
    assert "CANARY-development" in shown.content.decode()
    refused = client.post(f"/secrets/{secrets['production'].pk}/decrypt/", **HTMX)
    assert refused.status_code == 403
    assert "CANARY-production" not in refused.content.decode()
    # A refused decrypt stays a DECRYPT row (allowed=False), not a second, DENIED one.
    assert AuditLog.objects.filter(action="DECRYPT", allowed=False).count() == 1
    assert denied_rows() == []


def test_R18_an_editors_import_fails_the_other_profiles_per_entry(as_role):
    upload = SimpleUploadedFile(
        "io_config.yaml",
        b"development:\n  API_TOKEN: dev-token\nproduction:\n  API_TOKEN: prod-token\n"
        b"  AWS_REGION: eu-west-1\n")
    response = as_role("editor").post("/secrets/import/", {"file": upload}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<b>1</b> created" in html and "<b>2</b> failed" in html
    assert html.count("you have no editor grant on production") == 2
    assert "production/API_TOKEN" in html and "production/AWS_REGION" in html
    assert list(Secret.objects.values_list("profile", flat=True)) == ["development"]


# --- Settings → Access (R18) --------------------------------------------------------------


ADMIN_PAGES = [
    ("get", "/settings/access/", {}),
    ("post", "/settings/access/", {"user": "bob", "profile": "production", "role": "editor"}),
    ("post", "/settings/access/{grant}/remove/", {}),
    ("get", "/settings/service-tokens/", {}),
    ("post", "/settings/service-tokens/", {"name": "etl", "profiles": ["production"]}),
    ("post", "/settings/service-tokens/{token}/revoke/", {}),
]


@pytest.mark.parametrize("role", ["reader", "editor", "plain"])
@pytest.mark.parametrize("method, path, data", ADMIN_PAGES)
def test_R18_R19_the_settings_pages_are_for_admins_and_refusals_are_audited(
        as_role, admin_user, role, method, path, data):
    grant = ProfileGrant.objects.get(user__username="rita")
    token, key = create_service_token(admin_user, name="etl", profiles=["production"])
    before = (sorted(ProfileGrant.objects.values_list("pk", "role")),
              sorted(ServiceToken.objects.values_list("pk", "revoked_at")))
    url = path.format(grant=grant.pk, token=token.pk)
    response = getattr(as_role(role), method)(url, data)
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-testid="forbidden"' in html
    # No role opens these pages: the page says they are for admins, not "ask for the role".
    assert "This page is for secrets admins only: no role on a profile opens it." in " ".join(
        html.split())
    assert "Ask an admin for the role" not in html
    assert key not in html
    [row] = denied_rows()
    assert row.detail["attempted"] == f"{method.upper()} {url}"
    assert row.username == {"reader": "rita", "editor": "eddie", "plain": "bob"}[role]
    assert (sorted(ProfileGrant.objects.values_list("pk", "role")),
            sorted(ServiceToken.objects.values_list("pk", "revoked_at"))) == before


def test_R18_a_refused_secret_action_still_points_to_a_role(as_role, secrets):
    response = as_role("reader").get(f"/secrets/{secrets['development'].pk}/edit/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Ask an admin for the role" in html and "secrets admins only" not in html


def test_R18_an_admin_adds_and_removes_grants(admin_client, member):
    page = admin_client.get("/settings/access/")
    assert page.status_code == 200
    assert 'data-testid="grant-form"' in page.content.decode()

    added = admin_client.post("/settings/access/", {
        "user": "bob", "group": "", "profile": "staging", "role": "editor"}, **HTMX)
    assert added.status_code == 200
    html = added.content.decode()
    assert html.lstrip().startswith('<section id="grants"')
    assert "bob is now editor on staging." in html
    assert 'data-subject="bob" data-profile="staging" data-role="editor"' in html
    assert access_of(member).writes("staging")
    row = AuditLog.objects.get(action="GRANT_ADD")
    assert (row.username, row.secret_profile, row.detail["user"]) == ("root", "staging", "bob")

    again = admin_client.post("/settings/access/", {
        "user": "bob", "profile": "staging", "role": "editor"}, **HTMX)
    assert again.status_code == 200
    assert "nothing changed" in again.content.decode()
    assert AuditLog.objects.filter(action="GRANT_ADD").count() == 1

    grant = ProfileGrant.objects.get(user=member)
    removed = admin_client.post(f"/settings/access/{grant.pk}/remove/", **HTMX)
    assert removed.status_code == 200
    html = removed.content.decode()
    assert "Removed bob&#x27;s editor grant on staging." in html
    assert 'data-subject="bob"' not in html
    assert not access_of(member).writes("staging")
    assert AuditLog.objects.filter(action="GRANT_REMOVE", username="root").count() == 1

    twice = admin_client.post(f"/settings/access/{grant.pk}/remove/", **HTMX)
    assert twice.status_code == 200
    assert "already removed" in twice.content.decode()
    assert AuditLog.objects.filter(action="GRANT_REMOVE").count() == 1


def test_R18_a_group_grant_and_the_page_without_javascript(admin_client, member):
    Group.objects.create(name="data-eng")
    added = admin_client.post("/settings/access/", {
        "group": "data-eng", "profile": "production", "role": "reader"})
    assert added.status_code == 200
    assert "<h1>Access</h1>" in added.content.decode()  # the whole page, not the partial
    grant = ProfileGrant.objects.get(group__name="data-eng")
    assert (grant.profile, grant.role) == ("production", "reader")
    removed = admin_client.post(f"/settings/access/{grant.pk}/remove/")
    assert removed.status_code == 302
    assert removed["Location"] == "/settings/access/"
    assert not ProfileGrant.objects.exists()


@pytest.mark.parametrize("data, field, message", [
    ({"user": "nobody", "profile": "production", "role": "reader"}, "user",
     "No user named &#x27;nobody&#x27;."),
    ({"group": "ghosts", "profile": "production", "role": "reader"}, "group",
     "No group named &#x27;ghosts&#x27;."),
    ({"user": "bob", "group": "data-eng", "profile": "production", "role": "reader"}, "user",
     "Name a user or a group (one of them)."),
    ({"profile": "production", "role": "reader"}, "user",
     "Name a user or a group (one of them)."),
    ({"user": "bob", "profile": "qa", "role": "reader"}, "profile",
     "Select a valid choice. qa is not one of the available choices."),
    ({"user": "bob", "profile": "production", "role": "owner"}, "role",
     "Select a valid choice. owner is not one of the available choices."),
])
def test_R18_grant_errors_show_next_to_the_field_and_say_what_to_fix(
        admin_client, member, data, field, message):
    Group.objects.create(name="data-eng")
    response = admin_client.post("/settings/access/", data, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html and message in html
    assert not ProfileGrant.objects.exists()
    assert not AuditLog.objects.filter(action="GRANT_ADD").exists()


# --- Settings → Service tokens (R19) --------------------------------------------------------


def test_R19_an_admin_creates_a_service_token_and_sees_the_key_once(admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    response = admin_client.post("/settings/service-tokens/", {
        "name": "etl", "profiles": ["production", "staging"],
        "keys": "POSTGRES_*\nAWS_?_KEY, API_TOKEN", "allowed_networks": "10.0.0.0/8,\n192.168.1.7",
        "expires_in_days": "30",
    }, **HTMX)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    key = re.search(r'data-testid="new-service-token-key">(kzsvc_[^<]+)</code>', html).group(1)
    assert html.count(key) == 1
    assert 'data-copy="#new-token-key"' in html and ">Copy key</button>" in html
    token = ServiceToken.objects.get()
    assert token.name == "etl" and token.profiles == ["staging", "production"]
    assert token.key_patterns == ["API_TOKEN", "AWS_?_KEY", "POSTGRES_*"]
    assert token.allowed_networks == ["10.0.0.0/8", "192.168.1.7/32"]
    assert 29 <= (token.expires_at - token.created_at).days <= 30
    row = AuditLog.objects.get(action="SERVICE_TOKEN_CREATE")
    assert row.username == "root" and row.detail["token"] == token.prefix
    assert key not in str(list(AuditLog.objects.values()))
    assert key not in caplog.text

    listed = admin_client.get("/settings/service-tokens/")
    assert listed.status_code == 200
    html = listed.content.decode()
    assert key not in html and f"{token.prefix}…" in html
    assert "POSTGRES_*" in html and "10.0.0.0/8" in html and "staging, production" in html
    assert key not in admin_client.get("/settings/").content.decode()
    assert key not in admin_client.get("/settings/access/").content.decode()


def test_R19_the_default_lifetime_is_90_days_and_never_is_offered(admin_client):
    page = admin_client.get("/settings/service-tokens/").content.decode()
    assert '<option value="90" selected>in 90 days</option>' in page
    assert '<option value="">never</option>' in page
    response = admin_client.post("/settings/service-tokens/", {
        "name": "forever", "profiles": ["development"], "expires_in_days": ""}, **HTMX)
    assert response.status_code == 200
    token = ServiceToken.objects.get()
    assert token.expires_at is None and token.key_patterns == [] and token.allowed_networks == []


@pytest.mark.parametrize("data, field, message", [
    ({"name": "etl"}, "profiles", "Choose at least one profile the token may read, from"),
    ({"name": "", "profiles": ["production"]}, "name", "Give the token a name"),
    ({"name": "etl", "profiles": ["production"], "keys": "postgres password"}, "keys",
     "is not a key pattern: use capital letters"),
    ({"name": "etl", "profiles": ["production"], "allowed_networks": "the office"},
     "allowed_networks", "is not a network: write an address or a CIDR"),
])
def test_R19_service_token_errors_show_next_to_the_field(admin_client, data, field, message):
    response = admin_client.post("/settings/service-tokens/", data, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html and message in html
    assert "kzsvc_" not in html
    assert not ServiceToken.objects.exists()


def test_R19_an_admin_revokes_a_service_token(admin_client, admin_user):
    token, key = create_service_token(admin_user, name="etl", profiles=["production"])
    response = admin_client.post(f"/settings/service-tokens/{token.pk}/revoke/", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Revoked etl" in html and 'data-testid="revoked"' in html
    assert 'data-testid="revoke-service-token"' not in html
    assert key not in html
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditLog.objects.filter(action="SERVICE_TOKEN_REVOKE", username="root").count() == 1
    again = admin_client.post(f"/settings/service-tokens/{token.pk}/revoke/")
    assert again.status_code == 302 and again["Location"] == "/settings/service-tokens/"
    assert AuditLog.objects.filter(action="SERVICE_TOKEN_REVOKE").count() == 1


def test_R19_the_new_key_box_takes_focus_so_it_scrolls_into_view(admin_client):
    data = {"name": "etl", "profiles": ["production"]}
    for headers in (HTMX, {}):  # htmx focuses [autofocus] after a swap; a browser on load
        response = admin_client.post("/settings/service-tokens/", data, **headers)
        assert response.status_code == 200
        box = re.search(r'<div class="new-token"[^>]*>', response.content.decode()).group(0)
        assert 'data-testid="new-service-token"' in box
        assert 'tabindex="-1"' in box and "autofocus" in box
    # Only the key box: no other element of the page competes for the focus.
    assert response.content.decode().count("autofocus") == 1


def test_R19_revoking_names_the_token_by_name_and_prefix(admin_client, admin_user):
    old, _ = create_service_token(admin_user, name="etl", profiles=["production"])
    new, _ = create_service_token(admin_user, name="etl", profiles=["production"])
    html = admin_client.get("/settings/service-tokens/").content.decode()
    for token in (old, new):  # rotation: two tokens named etl, told apart by their prefix
        assert f'aria-label="Revoke etl ({token.prefix}…)"' in html
        assert f'hx-confirm="Revoke etl ({token.prefix}…)? Programs using it' in html
    response = admin_client.post(f"/settings/service-tokens/{old.pk}/revoke/", **HTMX)
    assert response.status_code == 200
    assert f"Revoked etl ({old.prefix}…): programs using it get 401" in (
        response.content.decode())


def test_R14_revoking_a_personal_token_names_its_prefix(admin_client, admin_user):
    token, _ = create_token(admin_user, "laptop", 30)
    html = admin_client.get("/settings/").content.decode()
    assert f'aria-label="Revoke laptop ({token.prefix}…)"' in html
    assert f'hx-confirm="Revoke laptop ({token.prefix}…)? Programs using it' in html


def test_R19_patterns_and_networks_are_chips_and_revoked_is_said_once(admin_client, admin_user):
    token, _ = create_service_token(admin_user, name="etl", profiles=["production"],
                                    keys=["SNOWFLAKE_?ASSWORD", "AWS_*"],
                                    allowed_networks=["10.0.0.0/8", "192.168.1.7"])
    revoke_service_token(token, admin_user)
    response = admin_client.get("/settings/service-tokens/")
    assert response.status_code == 200
    row = re.search(r'<tr data-testid="service-token-row".*?</tr>', response.content.decode(),
                    re.S).group(0)
    for value in ("AWS_*", "SNOWFLAKE_?ASSWORD", "10.0.0.0/8", "192.168.1.7/32"):
        assert f'<code class="chip">{value}</code>' in row
    text = re.sub(r"<[^>]+>", " ", row)
    assert text.count("revoked") == 1, text
    assert f"revoked {token.revoked_at:%Y-%m-%d}" in " ".join(text.split())


def test_R18_R19_made_at_the_command_line_says_so(admin_client, admin_user, member):
    add_grant(None, member, "staging", "reader")
    create_service_token(None, name="cron", profiles=["staging"])
    grants = admin_client.get("/settings/access/").content.decode()
    assert "(command line)" in grants and "—" not in row_cells(grants, "grant-row")
    tokens = admin_client.get("/settings/service-tokens/").content.decode()
    assert "(command line)" in row_cells(tokens, "service-token-row")
    assert "by —" not in tokens
    add_grant(admin_user, member, "production", "reader")
    assert ">root</td>" in admin_client.get("/settings/access/").content.decode()


def row_cells(html: str, testid: str) -> str:
    return "".join(re.findall(rf'<tr data-testid="{testid}".*?</tr>', html, re.S))


@pytest.mark.parametrize("role, says", [
    ("admin", 'For a program, create a <a href="/settings/service-tokens/">service token</a>'),
    ("reader", "For a program, ask an admin for a service token."),
    ("plain", "For a program, ask an admin for a service token."),
])
def test_R19_the_settings_page_sends_programs_to_service_tokens(as_role, role, says):
    response = as_role(role).get("/settings/")
    assert response.status_code == 200
    html = response.content.decode()
    assert says in html
    assert "Programs use a token as" not in html


# --- navigation and labels ------------------------------------------------------------------


def test_R18_R19_the_settings_page_links_both_pages_for_admins_only(admin_client, as_role):
    html = admin_client.get("/settings/").content.decode()
    assert 'href="/settings/access/"' in html and 'href="/settings/service-tokens/"' in html
    for role in ("reader", "editor", "plain"):
        html = as_role(role).get("/settings/").content.decode()
        assert "/settings/access/" not in html and "/settings/service-tokens/" not in html


def test_R18_R19_the_settings_pages_highlight_settings_in_the_dock(admin_client):
    html = admin_client.get("/settings/access/").content.decode()
    settings_link = re.search(r'<a class="dock-item[^"]*"[^>]*data-testid="nav-settings"', html)
    secrets_link = re.search(r'<a class="dock-item[^"]*"[^>]*data-testid="nav-secrets"', html)
    assert "active" in settings_link.group(0) and "active" not in secrets_link.group(0)


class Labels(HTMLParser):
    """Every visible form control and the labels that name it."""

    def __init__(self):
        super().__init__()
        self.controls, self.labelled, self.open_labels = [], set(), 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if attrs.get("for"):
                self.labelled.add(attrs["for"])
        elif tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append((attrs.get("id"), self.open_labels > 0 or
                                  bool(attrs.get("aria-label"))))

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1


@pytest.mark.parametrize("path", ["/settings/access/", "/settings/service-tokens/"])
def test_R18_R19_every_input_has_a_label(admin_client, admin_user, path):
    add_grant(admin_user, admin_user, "production", "reader")
    create_service_token(admin_user, name="etl", profiles=["production"])
    parser = Labels()
    parser.feed(admin_client.get(path).content.decode())
    assert parser.controls
    unlabelled = [control for control, wrapped in parser.controls
                  if not wrapped and control not in parser.labelled]
    assert unlabelled == []
