"""B12 (low): /credentials decides the caller's rights once, before the sources are asked,
and never again: a grant removed (or a service token revoked) while the request waits on a
slow source (AWS: timeout x attempts, per name without ListSecrets) still gets the values,
and the audit log then shows an allowed read AFTER the GRANT_REMOVE / revoke row. FAILS while
open."""

import pytest
from rest_framework.test import APIClient

from audit_app.models import AuditAction, AuditLog
from secrets_app.access.grants import add_grant, remove_grant
from secrets_app.access.service_tokens import create_service_token, revoke_service_token
from secrets_app.access.tokens import create_token
from secrets_app.services import credentials as service
from secrets_app.services.secrets import create_secret

pytestmark = pytest.mark.django_db
URL = "/api/v1/credentials/"


def slow_source_meanwhile(monkeypatch, happen):
    real = service.resolve_many

    def resolve_many(*args, **kwargs):
        happen()  # what an admin does while AWS is being asked
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "resolve_many", resolve_many)


def test_B12_a_grant_removed_mid_request_still_gets_the_values(
        django_user_model, admin_user, monkeypatch):
    create_secret(admin_user, name="t", key="APP_TOKEN", value="PROD-CANARY",
                  profile="production")
    user = django_user_model.objects.create_user("leaver", password="leaver-password")
    grant, _ = add_grant(admin_user, user, "production", "reader")
    _, key = create_token(user, "ci")
    slow_source_meanwhile(monkeypatch, lambda: remove_grant(admin_user, grant))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = api.get(URL, {"profile": "production", "keys": "APP_TOKEN"})
    removed = AuditLog.objects.get(action=AuditAction.GRANT_REMOVE)
    served_after = AuditLog.objects.filter(action=AuditAction.DECRYPT, allowed=True,
                                           sequence__gt=removed.sequence)
    assert response.status_code == 403, response.content
    assert not served_after.exists()


def test_B12_a_service_token_revoked_mid_request_still_gets_the_values(
        admin_user, monkeypatch):
    create_secret(admin_user, name="t", key="APP_TOKEN", value="PROD-CANARY",
                  profile="production")
    token, key = create_service_token(admin_user, name="etl", profiles=["production"])
    slow_source_meanwhile(monkeypatch, lambda: revoke_service_token(token, admin_user))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = api.get(URL, {"profile": "production", "keys": "APP_TOKEN"})
    assert response.status_code in (401, 403), response.content
    assert "PROD-CANARY" not in response.content.decode()
