"""R18 (and R2.5): a refusal in the console leaves a DENIED audit row, like one in the API.
The console's own checks (admin-only pages, the audit log) raised PermissionDenied with no
row; handler403 (kozmo_secrets/errors.py) now writes it, once: a refusal already audited
where it was raised (a refused decrypt) is not written twice."""

import pytest
from django.urls import reverse

from audit_app.models import AuditAction, AuditLog
from secrets_app.models import Secret
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(admin_user):
    return create_secret(admin_user, name="refused-target", key="API_KEY", value="v-1",
                         profile="production", ssh=None)


def refusals(since: int):
    return list(AuditLog.objects.filter(sequence__gt=since, allowed=False).order_by("sequence"))


def last() -> int:
    return AuditLog.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


def test_R18_a_refused_console_page_is_audited(member_client, member):
    since = last()
    response = member_client.get(reverse("audit:log"))
    assert response.status_code == 403
    [row] = refusals(since)
    assert (row.action, row.user_id, row.channel) == (AuditAction.DENIED, member.pk, "console")
    assert row.detail == {"attempted": "GET /audit/", "reason": "not allowed for this caller"}


def test_R18_a_refused_console_write_names_the_secret_and_changes_nothing(
        member_client, secret):
    since = last()
    response = member_client.post(reverse("secrets:delete", kwargs={"pk": secret.pk}))
    assert response.status_code == 403
    assert Secret.objects.filter(pk=secret.pk).exists()
    [row] = refusals(since)
    assert row.action == AuditAction.DENIED
    assert (row.secret_id, row.secret_name, row.secret_profile) == (
        secret.pk, "refused-target", "production")


def test_R18_a_refused_console_decrypt_is_audited_once(member_client, secret):
    since = last()
    response = member_client.post(reverse("secrets:decrypt", kwargs={"pk": secret.pk}))
    assert response.status_code == 403
    assert [row.action for row in refusals(since)] == [AuditAction.DECRYPT]


def test_R18_anonymous_console_requests_are_sent_to_sign_in_unaudited(client, secret):
    since = last()
    response = client.get(reverse("audit:log"))
    assert response.status_code == 302
    assert refusals(since) == []
