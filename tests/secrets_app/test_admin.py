"""Django admin (R1.3): secrets and audit rows are shown read-only, values masked."""

import pytest

from audit_app.models import AuditLog
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(admin_user):
    return create_secret(admin_user, name="warehouse", key="POSTGRES_PASSWORD", value="ADM-CANARY")


def test_R1_3_admin_list_and_detail_mask_the_value(client, admin_user, secret):
    client.force_login(admin_user)
    for url in ("/admin/secrets_app/secret/", f"/admin/secrets_app/secret/{secret.pk}/change/"):
        html = client.get(url).content.decode()
        assert "warehouse" in html
        assert "********" in html
        assert "ADM-CANARY" not in html and "gAAAAA" not in html


def test_admin_cannot_change_or_delete_through_django_admin(client, admin_user, secret):
    client.force_login(admin_user)
    response = client.post(
        f"/admin/secrets_app/secret/{secret.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    assert client.get("/admin/secrets_app/secret/add/").status_code == 403


def test_audit_rows_are_read_only_in_admin(client, admin_user, secret):
    client.force_login(admin_user)
    entry = AuditLog.objects.get()
    assert client.get("/admin/audit_app/auditlog/").status_code == 200
    response = client.post(f"/admin/audit_app/auditlog/{entry.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert AuditLog.objects.filter(pk=entry.pk).exists()
    # The refused delete is itself audited (handler403), the row it aimed at untouched.
    assert list(AuditLog.objects.exclude(pk=entry.pk).values_list("action", "allowed")) == [
        ("DENIED", False)]
