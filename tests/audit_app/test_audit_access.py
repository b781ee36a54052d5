"""Who may read the audit log (R12): holders of `audit_app.view_auditlog`, in the console and
the API alike. Admins hold it (the group by migration, superusers implicitly); it can also be
given on its own, to an auditor who is not an admin."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission, User
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from audit_app.permissions import VIEW_AUDIT_LOG, can_read_audit_log
from secrets_app.access.permissions import ADMIN_GROUP, ADMIN_PERMISSIONS, is_secrets_admin
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db

CONSOLE = [("get", "/audit/"), ("get", "/audit/export/?format=csv"),
           ("get", "/audit/export/?format=jsonl"), ("post", "/audit/verify/")]
REFUSED = {"detail": "Admin privileges required"}


def permission(dotted: str) -> Permission:
    app_label, codename = dotted.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@pytest.fixture
def auditor(db):
    """Not an admin: holds only the audit log's view permission."""
    user = User.objects.create_user("carol", "carol@example.com", "carol-password")
    user.user_permissions.add(permission(VIEW_AUDIT_LOG))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def one_row(admin_user):
    create_secret(admin_user, name="warehouse", key="DB_PASSWORD", value="v")
    return AuditLog.objects.latest("sequence")


def console_statuses(user) -> list[int]:
    client = APIClient(enforce_csrf_checks=False)
    client.force_login(user)
    return [getattr(client, method)(path).status_code for method, path in CONSOLE]


def api_answers(user, one_row):
    client = APIClient()
    client.force_login(user)
    listing = client.get("/api/v1/audit/")
    detail = client.get(f"/api/v1/audit/{one_row.sequence}/")
    return listing, detail


@pytest.mark.parametrize("who", ["admin_user", "secrets_admin", "auditor"])
def test_R12_readers_read_the_log_in_the_console_and_the_api(who, request, one_row):
    user = request.getfixturevalue(who)
    assert console_statuses(user) == [200, 200, 200, 200]
    listing, detail = api_answers(user, one_row)
    assert listing.status_code == 200 and listing.json()["count"] >= 1
    assert detail.status_code == 200 and detail.json()["sequence"] == one_row.sequence


def test_R12_a_plain_user_is_refused_everywhere(member, one_row):
    assert console_statuses(member) == [403, 403, 403, 403]
    for answer in api_answers(member, one_row):
        assert answer.status_code == 403 and answer.json() == REFUSED


def test_R12_an_inactive_holder_is_refused(auditor):
    auditor.is_active = False
    auditor.save()
    assert not can_read_audit_log(auditor)
    assert not can_read_audit_log(None)


def test_R12_the_auditor_reads_the_log_but_is_no_admin(auditor, member):
    assert not is_secrets_admin(auditor)
    client = APIClient()
    client.force_login(auditor)
    assert 'data-testid="nav-audit"' in client.get("/secrets/").content.decode()
    assert 'data-testid="decrypt"' not in client.get("/secrets/").content.decode()
    client.force_login(member)
    assert 'data-testid="nav-audit"' not in client.get("/secrets/").content.decode()


def test_R12_the_admin_group_holds_both_the_secrets_and_the_audit_permissions(secrets_admin):
    group = Group.objects.get(name=ADMIN_GROUP)
    assert group.permissions.filter(pk=permission(VIEW_AUDIT_LOG).pk).exists()
    assert is_secrets_admin(secrets_admin) and can_read_audit_log(secrets_admin)


def test_R12_the_migration_keeps_every_earlier_reader(db):
    """Before the permission, anyone holding the four secret permissions read the log, however
    they held them: directly, or through a group of their own."""
    migration = importlib.import_module("audit_app.migrations.0004_view_auditlog_permission")
    view = permission(VIEW_AUDIT_LOG)
    admin_permissions = [permission(name) for name in ADMIN_PERMISSIONS]
    direct = User.objects.create_user("dan")
    direct.user_permissions.add(*admin_permissions)
    ops = Group.objects.create(name="ops")
    ops.permissions.add(*admin_permissions[:2])
    mixed = User.objects.create_user("erin")
    mixed.groups.add(ops)
    mixed.user_permissions.add(*admin_permissions[2:])
    partial = User.objects.create_user("frank")
    partial.user_permissions.add(*admin_permissions[:3])

    migration.grant_to_earlier_readers(django_apps, view)

    for user, reads in ((direct, True), (mixed, True), (partial, False)):
        assert can_read_audit_log(User.objects.get(pk=user.pk)) is reads, user.username


def test_R12_staff_auditors_read_it_in_django_admin_too(auditor, member, one_row):
    client = APIClient()
    auditor.is_staff = member.is_staff = True
    auditor.save()
    member.save()
    client.force_login(auditor)
    assert client.get("/admin/audit_app/auditlog/").status_code == 200
    client.force_login(member)
    assert client.get("/admin/audit_app/auditlog/").status_code == 403
