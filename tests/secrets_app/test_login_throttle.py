"""Repeated failed sign-ins are throttled per user and per address, and audited (issue 7)."""

import base64

import pytest
from rest_framework.test import APIClient

from audit_app.models import AuditLog

pytestmark = pytest.mark.django_db


def sign_in(client, username, password, ip="198.51.100.1"):
    return client.post("/accounts/login/", {"username": username, "password": password},
                       REMOTE_ADDR=ip)


def test_failures_are_audited_without_the_password(client, admin_user):
    sign_in(client, "root", "WRONG-PASSWORD-CANARY")
    entry = AuditLog.objects.get(action="LOGIN_FAILED")
    assert (entry.allowed, entry.detail, entry.ip_address) == (
        False, {"username": "root"}, "198.51.100.1")
    assert "CANARY" not in str(entry.detail) + entry.user_agent


def test_five_failures_lock_the_username_even_with_the_right_password(client, admin_user):
    for _ in range(5):
        assert "do not match" in sign_in(client, "root", "nope").content.decode()
    page = sign_in(client, "ROOT", "root-password", ip="203.0.113.9").content.decode()
    assert "Too many failed sign-ins" in page
    assert "_auth_user_id" not in client.session
    assert sign_in(client, "other", "nope").status_code == 200  # other names unaffected


def test_many_names_from_one_address_are_throttled(client, admin_user, settings):
    settings.SECRETS_LOGIN_RATE_PER_IP = "3/15m"
    for number in range(3):
        sign_in(client, f"guess{number}", "nope", ip="192.0.2.7")
    assert "Too many failed sign-ins" in sign_in(client, "root", "root-password",
                                                 ip="192.0.2.7").content.decode()
    response = sign_in(client, "root", "root-password", ip="192.0.2.8")
    assert response.status_code == 302  # another address signs in fine


def test_basic_auth_on_the_tokens_endpoint_shares_the_throttle(admin_user):
    client = APIClient()
    wrong = base64.b64encode(b"root:nope").decode()
    for _ in range(5):
        client.credentials(HTTP_AUTHORIZATION=f"Basic {wrong}")
        assert client.post("/api/v1/tokens/", {"name": "x"}, format="json").status_code == 401
    right = base64.b64encode(b"root:root-password").decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {right}")
    response = client.post("/api/v1/tokens/", {"name": "x"}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert AuditLog.objects.filter(action="LOGIN_FAILED").count() == 5
