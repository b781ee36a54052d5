"""R18/R19 and R5.5: a profile without an SSH tunnel falls back to `default`'s. A reader of
development (or a service token for development) asked for development's tunnel and got
default's, password and private key included, though it may not decrypt one secret of
default. The answer needs a read grant on every profile it comes from, like exports and
run_with_secrets (reveal_secrets). The service-level test is in test_r18_r19_policy.py; these
check the API answer, for a person and for a service token."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from audit_app.models import AuditAction, AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.models import Role
from secrets_app.access.service_tokens import create_service_token
from secrets_app.services.secrets import SSHTunnelData, create_secret

pytestmark = pytest.mark.django_db
URL = reverse("api:secret-ssh-tunnel")


@pytest.fixture
def default_tunnel(admin_user):
    create_secret(admin_user, name="bastion", key="SSH_HOST", value="bastion.example",
                  category="SSH", profile="default",
                  ssh=SSHTunnelData(host="bastion.example", username="deploy",
                                    password="DEFAULT-TUNNEL-PASSWORD"))


def reader_of(profile, admin_user):
    user = User.objects.create_user(f"reader-{profile}")
    add_grant(admin_user, user, profile, Role.READER)
    client = APIClient()
    client.force_authenticate(user)
    return client


def last() -> int:
    return AuditLog.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


def test_R18_a_reader_of_development_gets_no_tunnel_of_default(default_tunnel, admin_user):
    client = reader_of("development", admin_user)
    since = last()
    response = client.post(URL, {"profile": "development"}, format="json")
    assert response.status_code == 403
    assert response.json() == {"detail": "Admin privileges required"}
    assert b"DEFAULT-TUNNEL-PASSWORD" not in response.content
    [row] = AuditLog.objects.filter(sequence__gt=since)
    assert (row.action, row.allowed, row.secret_profile) == (
        AuditAction.DECRYPT, False, "development")
    assert row.detail == {"reason": "no reader grant on default"}


def test_R19_a_service_token_for_development_gets_no_tunnel_of_default(
        default_tunnel, admin_user):
    _token, key = create_service_token(admin_user, name="etl", profiles=["development"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.post(URL, {"profile": "development"}, format="json")
    assert response.status_code == 403
    assert b"DEFAULT-TUNNEL-PASSWORD" not in response.content


def test_R18_a_reader_of_both_gets_the_fallback(default_tunnel, admin_user):
    client = reader_of("development", admin_user)
    user = User.objects.get(username="reader-development")
    add_grant(admin_user, user, "default", Role.READER)
    response = client.post(URL, {"profile": "development"}, format="json")
    assert response.status_code == 200
    assert response.json()["password"] == "DEFAULT-TUNNEL-PASSWORD"
