"""API tokens in Django admin (R14): a leaked token is revoked without a shell, audited like the
API's revoke; the admin shows no digest, adds and deletes nothing. Also: the model's move to
access/models.py needs no migration, and ApiToken.objects.of_user."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from secrets_app.access.models import ApiToken
from secrets_app.access.permissions import ADMIN_GROUP
from secrets_app.access.tokens import create_token, revoke_token

pytestmark = pytest.mark.django_db

LIST = "/admin/secrets_app/apitoken/"
SECRETS = "/api/v1/secrets/"


def api_status(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(SECRETS).status_code


def revoke_in_admin(client, *tokens):
    return client.post(LIST, {
        "action": "revoke_selected", "_selected_action": [token.pk for token in tokens],
    }, follow=True)


def staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)  # fresh object: no stale permission cache


@pytest.fixture
def leaked(member):
    """bob's token and its key."""
    return create_token(member, "laptop")


def test_R14_admin_lists_every_users_tokens_without_digest_or_key(client, admin_user, leaked):
    token, key = leaked
    create_token(admin_user, "ci-runner")
    client.force_login(admin_user)
    html = client.get(LIST).content.decode()
    assert "laptop" in html and "ci-runner" in html and token.prefix in html and "bob" in html
    assert "Revoke selected tokens" in html
    detail = client.get(f"{LIST}{token.pk}/change/")
    assert detail.status_code == 200 and "laptop" in detail.content.decode()
    for page in (html, detail.content.decode()):
        assert token.digest not in page and key not in page
        assert "digest" not in page.lower()


def test_R14_admin_filters_and_searches(client, admin_user, leaked):
    token, _ = leaked
    gone, _ = create_token(admin_user, "old-ci")
    revoke_token(gone, admin_user)
    client.force_login(admin_user)

    def names(query: str) -> set[str]:
        response = client.get(f"{LIST}?{query}")
        return {row.name for row in response.context["cl"].result_list}

    assert names("revoked=yes") == {"old-ci"}
    assert names("revoked=no") == {"laptop"}
    assert names(f"user__id__exact={token.user_id}") == {"laptop"}
    assert names("q=bob") == {"laptop"}
    assert names("q=old") == {"old-ci"}
    assert names(f"q={token.prefix}") == {"laptop"}


def test_R14_admin_revoke_action_revokes_audits_and_cuts_off_the_api(client, admin_user, leaked):
    token, key = leaked
    assert api_status(key) == 200
    client.force_login(admin_user)
    response = revoke_in_admin(client, token)
    assert response.status_code == 200 and "Revoked 1 token." in response.content.decode()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    row = AuditLog.objects.get(action="TOKEN_REVOKE")
    # As the API's revoke writes it (same service), plus the owner: it is not the actor's.
    assert (row.username, row.channel, row.allowed) == ("root", "admin", True)
    assert row.detail == {"token": token.prefix, "name": "laptop", "owner": "bob"}
    assert api_status(key) == 401


def test_R14_admin_revoke_skips_tokens_already_revoked(client, admin_user, leaked):
    token, _ = leaked
    revoke_token(token, token.user)
    client.force_login(admin_user)
    response = revoke_in_admin(client, token)
    assert "The selected tokens were already revoked." in response.content.decode()
    assert AuditLog.objects.filter(action="TOKEN_REVOKE").count() == 1  # bob's own


def test_R14_own_revoke_audit_row_names_no_owner(admin_user):
    token, _ = create_token(admin_user, "mine")
    revoke_token(token, admin_user)
    assert AuditLog.objects.get(action="TOKEN_REVOKE").detail == {
        "token": token.prefix, "name": "mine",
    }


def test_R14_no_add_change_or_delete_in_admin(client, admin_user, leaked):
    token, _ = leaked
    client.force_login(admin_user)
    assert client.get(f"{LIST}add/").status_code == 403
    assert client.post(f"{LIST}{token.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"{LIST}{token.pk}/change/", {"name": "renamed"}).status_code == 403
    response = client.post(LIST, {"action": "delete_selected", "_selected_action": [token.pk]})
    assert ApiToken.objects.filter(pk=token.pk, name="laptop", revoked_at=None).exists()
    assert response.status_code in (200, 302)


def test_R14_non_staff_cannot_reach_the_token_admin(client, member, leaked):
    token, key = leaked
    client.force_login(member)
    response = client.get(LIST)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    revoke_in_admin(client, token)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert api_status(key) == 200


def test_R14_staff_secrets_admins_need_the_token_permissions(client, leaked):
    # Like the API, where admins see only their own tokens: the group grants no token rights.
    alice = staff("alice")
    alice.groups.add(Group.objects.get(name=ADMIN_GROUP))
    client.force_login(alice)
    assert client.get(LIST).status_code == 403


def test_R14_view_permission_lists_but_does_not_revoke(client, leaked):
    token, _ = leaked
    client.force_login(staff("viewer", "view_apitoken"))
    html = client.get(LIST).content.decode()
    assert "laptop" in html and "Revoke selected tokens" not in html
    revoke_in_admin(client, token)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    assert not AuditLog.objects.filter(action="TOKEN_REVOKE").exists()


def test_R14_change_permission_revokes(client, leaked):
    token, key = leaked
    client.force_login(staff("keeper", "view_apitoken", "change_apitoken"))
    revoke_in_admin(client, token)
    assert api_status(key) == 401
    assert AuditLog.objects.get(action="TOKEN_REVOKE").username == "keeper"


def test_of_user_is_the_users_tokens_newest_first(admin_user, member):
    older, _ = create_token(member, "older")
    newer, _ = create_token(member, "newer")
    create_token(admin_user, "not bob's")
    ApiToken.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=1))
    assert list(ApiToken.objects.of_user(member)) == [newer, older]


def test_token_model_move_needs_no_migration():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)  # SystemExit if any
    assert "No changes detected" in out.getvalue()
    assert ApiToken._meta.app_label == "secrets_app"
    assert ApiToken._meta.db_table == "secrets_app_apitoken"
