"""One home per rule (issue 11): the database-reading rules live in services/rules.py, the
audit signal records from the instance and the audit context, and rotation is a service."""

import ast
from pathlib import Path

import pytest
from django.db import transaction

from audit_app.models import AuditLog
from secrets_app import validation
from secrets_app.audit import recorded_as
from secrets_app.models import Secret, SecretVersion
from secrets_app.services import rules
from secrets_app.services.bulk import import_file, rotate_encryption
from secrets_app.services.secrets import create_secret, restore_version, update_secret

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_R17_11_validation_reads_no_database():
    """formats/ imports validation.py: it must not reach the ORM, not even inside a function."""
    tree = ast.parse(Path(validation.__file__).read_text())
    imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names]
    assert not [name for name in imported
                if name.startswith(("django.db", "secrets_app.models", "secrets_app.services"))]


def test_R17_11_the_duplicate_name_query_is_the_services(admin_user):
    create_secret(admin_user, name="API_KEY", key="K", value="v")
    assert rules.look_alike("\u0410PI_KEY", "default").name == "API_KEY"
    assert rules.look_alike("API_KEY", "staging") is None
    assert list(rules.look_alikes("default", ["\u0410PI_KEY", "OTHER"]).values()) == ["API_KEY"]


def test_R13_one_version_numbering_for_updates_and_imports(admin_user):
    secret = create_secret(admin_user, name="K", key="K", value="v1")
    assert rules.next_version_number(secret) == 2
    update_secret(secret, admin_user, value="v2")
    import_file(b"K=v3\n", user=admin_user)
    restore_version(secret, 1, admin_user)
    numbers = list(SecretVersion.objects.filter(secret=secret).values_list("number", flat=True))
    assert sorted(numbers) == [1, 2, 3, 4]
    assert rules.next_version_numbers([secret.pk]) == {secret.pk: 5}


def test_R3_the_console_edit_leaves_automatic_category_to_the_service(admin_client, admin_user):
    secret = create_secret(admin_user, name="n", key="K", value="v", category="AWS")
    response = admin_client.post(f"/secrets/{secret.pk}/edit/", {
        "name": "n", "key": "POSTGRES_PASSWORD", "value": "", "category": "",
        "profile": "default",
    }, **HTMX)
    assert response.status_code == 204
    secret.refresh_from_db()
    assert secret.category == rules.infer_category(None, "POSTGRES_PASSWORD")


def test_R10_a_save_outside_the_services_is_audited_with_its_changed_fields(admin_user):
    secret = create_secret(admin_user, name="n", key="K", value="v")
    stored = Secret.objects.get(pk=secret.pk)
    stored.description, stored.key = "new", "OTHER"
    with transaction.atomic():
        stored.save()
    row = AuditLog.objects.order_by("-sequence").first()
    assert (row.action, row.detail) == ("UPDATE", {"changed": ["description", "key"]})
    assert not [name for name in vars(stored) if name.startswith("_audit")]


def test_R10_recorded_as_overrides_only_inside_its_block(admin_user):
    secret = Secret.objects.get(pk=create_secret(admin_user, name="n", key="K", value="v").pk)
    secret.description = "d"
    with transaction.atomic(), recorded_as(also_changed=["ssh_tunnel"]):
        secret.save()
    secret.description = "e"
    with transaction.atomic():
        secret.save()
    details = list(AuditLog.objects.order_by("-sequence").values_list("detail", flat=True)[:2])
    assert details == [{"changed": ["description"]}, {"changed": ["description", "ssh_tunnel"]}]


def test_R11_rotation_is_a_service(admin_user, use_keys):
    use_keys("key-A-0123456789-0123456789-0123456789")
    create_secret(admin_user, name="n", key="K", value="v")
    use_keys("key-B-0123456789-0123456789-0123456789", "key-A-0123456789-0123456789-0123456789")
    said = []
    summary = rotate_encryption(say=said.append, warn=said.append)
    assert (summary.rotated, summary.unreadable) == (2, 0)
    assert said[:2] == ["secrets: 1/1 checked, 1 re-encrypted",
                        "secret versions: 1/1 checked, 1 re-encrypted"]
    assert Secret.objects.get().value.reveal() == "v"
