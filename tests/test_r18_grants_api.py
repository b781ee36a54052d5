"""Per-profile grants over the API and in Django admin (R18): admins manage them, audited;
readers decrypt and editors write in their profiles only, refused elsewhere as R2.2 says."""

import json
import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.models import ProfileGrant
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

GRANTS = "/api/v1/grants/"
SECRETS = "/api/v1/secrets/"
REFUSED = {"detail": "Admin privileges required"}
ADMIN_LIST = "/admin/secrets_app/profilegrant/"


def signed_in(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def rita(db):
    return User.objects.create_user("rita", None, "rita-password")


@pytest.fixture
def team(db):
    return Group.objects.create(name="data-eng")


@pytest.fixture
def reader(admin_user, rita):
    """rita, reader of development."""
    add_grant(admin_user, rita, "development", "reader")
    return rita


@pytest.fixture
def editor(admin_user, db):
    """eddie, editor of development."""
    eddie = User.objects.create_user("eddie", None, "eddie-password")
    add_grant(admin_user, eddie, "development", "editor")
    return eddie


@pytest.fixture
def secrets(admin_user):
    return {
        profile: create_secret(admin_user, name=f"{profile} db", key="POSTGRES_PASSWORD",
                               value=f"{profile.upper()}-VALUE", profile=profile)
        for profile in ("development", "production")
    }


# --- managing grants ---------------------------------------------------------------------


def test_R18_an_admin_adds_lists_and_removes_a_grant(admin_api, rita):
    response = admin_api.post(GRANTS, {"user": "rita", "profile": "development",
                                       "role": "reader"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "user", "group", "profile", "role", "created_at", "created_by"}
    assert (body["user"], body["group"], body["profile"], body["role"], body["created_by"]) == (
        "rita", None, "development", "reader", "root")

    again = admin_api.post(GRANTS, {"user": "rita", "profile": "development",
                                    "role": "reader"}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]

    listed = admin_api.get(GRANTS)
    assert listed.status_code == 200
    assert [(g["user"], g["role"]) for g in listed.json()["results"]] == [("rita", "reader")]

    removed = admin_api.delete(f"{GRANTS}{body['id']}/")
    assert removed.status_code == 204
    assert not ProfileGrant.objects.exists()
    assert admin_api.delete(f"{GRANTS}{body['id']}/").status_code == 404
    assert admin_api.delete(f"{GRANTS}not-a-number/").status_code == 404

    rows = list(AuditLog.objects.filter(action__startswith="GRANT_").order_by("sequence"))
    assert [(r.action, r.username, r.channel, r.secret_profile, r.detail) for r in rows] == [
        ("GRANT_ADD", "root", "api", "development",
         {"user": "rita", "profile": "development", "role": "reader"}),
        ("GRANT_REMOVE", "root", "api", "development",
         {"user": "rita", "profile": "development", "role": "reader"}),
    ]


def test_R18_another_role_replaces_the_one_held(admin_api, reader):
    response = admin_api.post(GRANTS, {"user": "rita", "profile": "development",
                                       "role": "editor"}, format="json")
    assert response.status_code == 201
    assert ProfileGrant.objects.get().role == "editor"
    row = AuditLog.objects.filter(action="GRANT_ADD").latest("sequence")
    assert row.detail["replaced"] == "reader"


def test_R18_a_group_grant_reaches_its_members(admin_api, rita, team, secrets):
    rita.groups.add(team)
    response = admin_api.post(GRANTS, {"group": "data-eng", "profile": "development",
                                       "role": "reader"}, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["group"], response.json()["user"]) == ("data-eng", None)
    rita_api = signed_in(User.objects.get(pk=rita.pk))
    dev = rita_api.post(f"{SECRETS}{secrets['development'].pk}/decrypt/")
    assert dev.status_code == 200
    assert dev.json()["value"] == "DEVELOPMENT-VALUE"
    prod = rita_api.post(f"{SECRETS}{secrets['production'].pk}/decrypt/")
    assert prod.status_code == 403
    assert prod.json() == REFUSED


@pytest.mark.parametrize("body, field", [
    ({"user": "nobody", "profile": "development", "role": "reader"}, "user"),
    ({"group": "nobody", "profile": "development", "role": "reader"}, "group"),
    ({"user": "rita", "profile": "prod", "role": "reader"}, "profile"),
    ({"user": "rita", "profile": "development", "role": "owner"}, "role"),
    ({"user": "rita", "group": "data-eng", "profile": "development", "role": "reader"}, "user"),
    ({"profile": "development", "role": "reader"}, "user"),
    ({"user": "", "group": None, "profile": "development", "role": "reader"}, "user"),
    ({"user": {"name": "rita"}, "profile": "development", "role": "reader"}, "user"),
    ({"user": ["rita"], "profile": "development", "role": "reader"}, "user"),
    ({"user": "rita", "profile": ["development"], "role": "reader"}, "profile"),
    ({"user": "rita", "profile": None, "role": "reader"}, "profile"),
    ({"user": "rita"}, "profile"),
    ({"user": "r" * 5000, "profile": "development", "role": "reader"}, "user"),
    ({"user": "ri\u202eta", "profile": "development", "role": "reader"}, "user"),
])
def test_R18_bad_grants_are_400_naming_the_field(admin_api, rita, team, body, field):
    response = admin_api.post(GRANTS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not ProfileGrant.objects.exists()
    assert not AuditLog.objects.filter(action="GRANT_ADD").exists()


@pytest.mark.parametrize("raw", ['["rita"]', '"rita"', "42", "null", "{", "true"])
def test_R18_grants_answer_non_objects_with_400(admin_api, rita, raw):
    response = admin_api.generic("POST", GRANTS, raw, content_type="application/json")
    assert response.status_code == 400
    assert not ProfileGrant.objects.exists()


def test_R18_grants_are_for_admins_only(rita, editor, member, secrets_admin, admin_user):
    grant, _ = add_grant(admin_user, rita, "development", "reader")
    before_all = sorted(ProfileGrant.objects.values_list("pk", "role"))
    for user in (rita, editor, member):
        client = signed_in(user)
        for method, path, body in (
            ("GET", GRANTS, None),
            ("POST", GRANTS, {"user": user.username, "profile": "production", "role": "editor"}),
            ("DELETE", f"{GRANTS}{grant.pk}/", None),
        ):
            before = AuditLog.objects.filter(action="DENIED").count()
            response = client.generic(method, path, json.dumps(body) if body else "",
                                      content_type="application/json")
            assert response.status_code == 403, (user, method)
            assert response.json() == REFUSED
            row = AuditLog.objects.filter(action="DENIED").latest("sequence")
            assert AuditLog.objects.filter(action="DENIED").count() == before + 1
            assert (row.username, row.allowed) == (user.username, False)
            assert row.detail["attempted"].startswith(method)
    assert sorted(ProfileGrant.objects.values_list("pk", "role")) == before_all
    assert APIClient().get(GRANTS).status_code == 401
    # The `Secrets administrators` group, not only superusers.
    response = signed_in(secrets_admin).post(
        GRANTS, {"user": "bob", "profile": "staging", "role": "editor"}, format="json")
    assert response.status_code == 201


# --- what a grant allows, over the API ----------------------------------------------------


def test_R18_a_reader_decrypts_in_their_profile_only(reader, secrets):
    client = signed_in(reader)
    dev = client.post(f"{SECRETS}{secrets['development'].pk}/decrypt/")
    assert dev.status_code == 200
    assert dev.json()["value"] == "DEVELOPMENT-VALUE"
    prod = client.post(f"{SECRETS}{secrets['production'].pk}/decrypt/")
    assert prod.status_code == 403
    assert prod.json() == REFUSED
    assert "PRODUCTION-VALUE" not in prod.content.decode()
    row = AuditLog.objects.filter(action="DECRYPT", allowed=False).get()
    assert (row.username, row.secret_profile, row.secret_id) == (
        "rita", "production", secrets["production"].pk)
    assert row.detail == {"reason": "no reader grant on production"}
    # A reader lists every secret, masked (R4.1), and writes nothing.
    listed = client.get(SECRETS)
    assert listed.status_code == 200 and listed.json()["count"] == 2
    update = client.patch(f"{SECRETS}{secrets['development'].pk}/", {"value": "x"},
                          format="json")
    assert update.status_code == 403
    assert update.json() == REFUSED


def test_R18_an_editor_writes_in_their_profile_only(editor, secrets):
    client = signed_in(editor)
    created = client.post(SECRETS, {"name": "dev key", "key": "API_KEY", "value": "v1",
                                    "profile": "development"}, format="json")
    assert created.status_code == 201, created.json()
    secret_id = created.json()["id"]
    updated = client.patch(f"{SECRETS}{secret_id}/", {"value": "v2"}, format="json")
    assert updated.status_code == 200
    assert Secret.objects.get(pk=secret_id).value.reveal() == "v2"
    assert client.get(f"{SECRETS}{secret_id}/versions/").status_code == 200

    outside = client.post(SECRETS, {"name": "prod key", "key": "API_KEY", "value": "v",
                                    "profile": "production"}, format="json")
    assert outside.status_code == 403
    assert outside.json() == REFUSED
    prod = secrets["production"]
    for method, body in (("PATCH", {"value": "hacked"}), ("DELETE", None)):
        response = client.generic(method, f"{SECRETS}{prod.pk}/",
                                  json.dumps(body) if body else "",
                                  content_type="application/json")
        assert response.status_code == 403, method
        assert response.json() == REFUSED
    # Moving a secret of their profile to one they do not edit.
    moved = client.patch(f"{SECRETS}{secret_id}/", {"profile": "production"}, format="json")
    assert moved.status_code == 403
    assert moved.json() == REFUSED
    assert Secret.objects.get(pk=secret_id).profile == "development"
    assert prod.value.reveal() == Secret.objects.get(pk=prod.pk).value.reveal()
    assert not Secret.objects.filter(profile="production", key="API_KEY").exists()

    deleted = client.delete(f"{SECRETS}{secret_id}/")
    assert deleted.status_code == 204
    denied = AuditLog.objects.filter(action="DENIED", username="eddie")
    assert denied.count() == 4
    assert set(denied.values_list("secret_profile", flat=True)) == {"production"}
    assert all(not allowed for allowed in denied.values_list("allowed", flat=True))


def test_R18_an_editors_import_touches_their_profiles_only(editor):
    client = signed_in(editor)
    document = "development:\n  API_KEY: dev\nproduction:\n  API_KEY: prod\n"
    response = client.generic("POST", f"{SECRETS}import/", document,
                              content_type="application/yaml")
    assert response.status_code == 200, response.json()
    summary = response.json()
    assert (summary["created"], summary["failed"]) == (1, 1)
    assert summary["failures"][0]["profile"] == "production"
    assert "no editor grant on production" in summary["failures"][0]["reason"]
    assert list(Secret.objects.values_list("profile", flat=True)) == ["development"]


# --- Django admin -------------------------------------------------------------------------


def test_R18_admin_adds_and_removes_grants_through_the_service(client, admin_user, rita):
    client.force_login(admin_user)
    response = client.post(f"{ADMIN_LIST}add/", {"user": rita.pk, "profile": "staging",
                                                  "role": "editor"})
    assert response.status_code == 302, response.content.decode()[:2000]
    grant = ProfileGrant.objects.get()
    assert (grant.user, grant.profile, grant.role, grant.created_by) == (
        rita, "staging", "editor", admin_user)
    add_row = AuditLog.objects.get(action="GRANT_ADD")
    assert (add_row.channel, add_row.username) == ("admin", "root")

    listing = client.get(ADMIN_LIST)
    assert listing.status_code == 200
    assert "rita" in listing.content.decode()
    # No edits in place: the change page shows the grant read-only.
    page = client.get(f"{ADMIN_LIST}{grant.pk}/change/")
    assert page.status_code == 200
    client.post(f"{ADMIN_LIST}{grant.pk}/change/", {"user": rita.pk, "profile": "staging",
                                                    "role": "reader"})
    assert ProfileGrant.objects.get().role == "editor"

    removed = client.post(f"{ADMIN_LIST}{grant.pk}/delete/", {"post": "yes"})
    assert removed.status_code == 302
    assert not ProfileGrant.objects.exists()
    remove_row = AuditLog.objects.get(action="GRANT_REMOVE")
    assert (remove_row.channel, remove_row.detail["user"]) == ("admin", "rita")


def test_R18_admin_bulk_delete_is_audited_per_grant(client, admin_user, rita, team):
    one, _ = add_grant(admin_user, rita, "development", "reader")
    two, _ = add_grant(admin_user, team, "production", "editor")
    client.force_login(admin_user)
    response = client.post(ADMIN_LIST, {"action": "delete_selected", "post": "yes",
                                        "_selected_action": [one.pk, two.pk]})
    assert response.status_code == 302
    assert not ProfileGrant.objects.exists()
    assert AuditLog.objects.filter(action="GRANT_REMOVE", channel="admin").count() == 2


@pytest.mark.parametrize("data", [
    {"user": "rita", "group": "data-eng", "profile": "staging", "role": "editor"},
    {"profile": "staging", "role": "editor"},
])
def test_R18_admin_form_wants_a_user_or_a_group(client, admin_user, rita, team, data):
    client.force_login(admin_user)
    data = {**data, **({"user": rita.pk} if "user" in data else {}),
            **({"group": team.pk} if "group" in data else {})}
    response = client.post(f"{ADMIN_LIST}add/", data)
    assert response.status_code == 200
    html = response.content.decode()
    # Our own words next to the user field, never a constraint's name.
    assert re.search(r'<ul class="errorlist" id="id_user_error"><li>Name a user or a group '
                     r'\(one of them\)\.</li></ul>', html)
    assert "Constraint" not in html and "grant_user_xor_group" not in html
    assert not ProfileGrant.objects.exists()


def test_R18_admin_form_checks_profile_and_role(client, admin_user, rita):
    client.force_login(admin_user)
    response = client.post(f"{ADMIN_LIST}add/", {"user": rita.pk, "profile": "prod",
                                                 "role": "owner"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_profile_error"' in html and 'id="id_role_error"' in html
    assert not ProfileGrant.objects.exists()


def test_R18_admin_add_replaces_the_role_held_through_the_service(client, admin_user, reader):
    client.force_login(admin_user)
    response = client.post(f"{ADMIN_LIST}add/", {"user": reader.pk, "profile": "development",
                                                 "role": "editor"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Constraint" not in html and "grant_one_per_user" not in html
    assert "It replaces the reader role rita held on development." in html
    grant = ProfileGrant.objects.get()
    assert (grant.user, grant.profile, grant.role) == (reader, "development", "editor")
    row = AuditLog.objects.filter(action="GRANT_ADD").latest("id")
    assert (row.channel, row.detail["role"], row.detail["replaced"]) == (
        "admin", "editor", "reader")

    again = client.post(f"{ADMIN_LIST}add/", {"user": reader.pk, "profile": "development",
                                              "role": "editor"}, follow=True)
    assert again.status_code == 200
    assert "already existed: nothing changed." in again.content.decode()
    assert ProfileGrant.objects.count() == 1
    assert AuditLog.objects.filter(action="GRANT_ADD").count() == 2


def test_R18_admin_add_replaces_a_groups_role(client, admin_user, team):
    add_grant(admin_user, team, "production", "editor")
    client.force_login(admin_user)
    response = client.post(f"{ADMIN_LIST}add/", {"group": team.pk, "profile": "production",
                                                 "role": "reader"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(ProfileGrant.objects.values_list("group__name", "role")) == [
        ("data-eng", "reader")]


def test_R18_admin_grants_need_secrets_admin_rights_too(client, db):
    # A staff user holding the model permissions but no secrets rights cannot give any.
    staff = User.objects.create_user("sam", None, "pw", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(
        codename__in=["add_profilegrant", "delete_profilegrant", "view_profilegrant"]))
    client.force_login(staff)
    assert client.get(f"{ADMIN_LIST}add/").status_code == 403
    assert client.get(ADMIN_LIST).status_code == 200


# --- the schema ---------------------------------------------------------------------------


def test_R18_R19_the_schema_describes_grants_and_service_tokens_and_validates():
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    paths = schema["paths"]
    assert {"200", "201", "400", "401", "403"} <= set(paths["/api/v1/grants/"]["post"]["responses"])
    assert {"204", "401", "403", "404"} <= set(
        paths["/api/v1/grants/{id}/"]["delete"]["responses"])
    created = paths["/api/v1/service-tokens/"]["post"]["responses"]["201"]
    shape = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "key" in schema["components"]["schemas"][shape]["properties"]
    listed = paths["/api/v1/service-tokens/"]["get"]["responses"]["200"]
    page = listed["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    item = schema["components"]["schemas"][page]["properties"]["results"]["items"]["$ref"]
    assert "key" not in schema["components"]["schemas"][item.rsplit("/", 1)[-1]]["properties"]
    assert {"204", "401", "403", "404"} <= set(
        paths["/api/v1/service-tokens/{id}/"]["delete"]["responses"])
