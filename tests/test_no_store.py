"""R17.4: every answer to a signed-in user or a token carries `Cache-Control: no-store`: API
JSON (errors included), exports, console pages and partials. Walks the URLconf through the
authorization matrix's route table (a new route without a row fails there)."""

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from secrets_app.access.tokens import create_token
from tests.helpers import ROUTES, url_for

pytestmark = pytest.mark.django_db


def no_store(response) -> bool:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return "no-store" in directives


@pytest.fixture
def principals(admin_user, member):
    def make(kind: str) -> APIClient:
        client = APIClient()
        if kind == "session-admin":
            client.force_login(admin_user)
        elif kind == "session-member":
            client.force_login(member)
        elif kind == "token-admin":
            client.credentials(HTTP_AUTHORIZATION=f"Token {create_token(admin_user, 't')[1]}")
        elif kind == "token-member":
            client.credentials(HTTP_AUTHORIZATION=f"Token {create_token(member, 'm')[1]}")
        return client

    return make


@pytest.mark.parametrize("principal",
                         ["session-admin", "session-member", "token-admin", "token-member"])
def test_r17_4_every_route_answers_no_store(principal, principals, world):
    missing = []
    for name, (_kind, methods) in ROUTES.items():
        if name == "logout":
            continue  # it ends the session: the answer goes to an anonymous visitor
        for method in methods:
            body = json.dumps({"name": "n", "key": "K", "value": "v"})
            response = principals(principal).generic(
                method, url_for(name, world), data="" if method == "GET" else body,
                content_type="application/json")
            if not no_store(response):
                missing.append(f"{method} {name} -> {response.status_code} "
                               f"{response.get('Content-Type')} {response.get('Cache-Control')}")
    assert missing == []


@pytest.mark.parametrize("export", ["csv", "jsonl"])
def test_r17_4_audit_exports_are_not_stored(admin_client, export):
    response = admin_client.get(reverse("audit:export"), {"format": export})

    assert response.status_code == 200
    assert no_store(response)


def test_r17_4_api_errors_to_a_token_are_not_stored(principals):
    member, admin = principals("token-member"), principals("token-admin")
    answers = [
        member.get("/api/v1/no-such-route/"),
        member.get("/api/v1/secrets/00000000-0000-0000-0000-000000000000/"),
        admin.post("/api/v1/secrets/", data="{not json", content_type="application/json"),
        member.post("/api/v1/secrets/", {"name": "n"}, format="json"),
    ]

    assert [response.status_code for response in answers] == [404, 404, 400, 403]
    assert all(no_store(response) for response in answers)
    assert all(response["Content-Type"] == "application/json" for response in answers)


def test_r17_4_token_user_is_seen_by_the_middleware(principals, admin_user):
    """DRF puts the token's user on the Django request: the middleware sees it signed in."""
    from django.test import RequestFactory

    from kozmo_secrets.middleware import must_not_be_stored
    from secrets_app.api.views import SecretViewSet

    key = create_token(admin_user, "seen")[1]
    request = RequestFactory().get("/elsewhere/", HTTP_AUTHORIZATION=f"Token {key}")
    SecretViewSet.as_view({"get": "list"})(request)

    assert request.user == admin_user
    del request.META["HTTP_AUTHORIZATION"]
    assert must_not_be_stored(request)

