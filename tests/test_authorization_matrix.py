"""Authorization matrix (issue 7): every named route of the console and the API, generated
from the URLconf (a new route without a row in tests/helpers.py's ROUTES fails), against
anonymous, non-admin and admin users, expired and revoked tokens, and a deactivated admin.
Refused writes change nothing."""

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from secrets_app.access.models import ApiToken
from secrets_app.models import Secret, SecretVersion
from tests.helpers import ROUTES, url_for

pytestmark = pytest.mark.django_db

ADMIN_SITE = "admin:"  # Django admin: every route behind its own staff login
WRITES = {"POST", "PUT", "PATCH", "DELETE"}

PRINCIPALS = ["anonymous", "expired-token", "revoked-token", "inactive", "member", "admin"]
LOCKED_OUT = {"anonymous", "expired-token", "revoked-token", "inactive"}


def expected(kind: str, principal: str, method: str):
    """A set of acceptable statuses, or a predicate."""
    api = kind.startswith("api")
    if kind == "public":
        return lambda status: status < 400 or status == 405
    if principal in LOCKED_OUT:
        return {401} if api else {302}
    if principal == "member":
        if kind in ("api-admin", "console-admin"):
            return {403}
        if kind == "api-read" and method in WRITES:
            return {403}
        return lambda status: status < 400 or status in (400, 404, 405)
    return lambda status: status not in (401, 403) and status < 500


def route_names(patterns=None, namespace=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from route_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}" if pattern.name else f"{namespace}(unnamed)"


def test_every_route_has_a_row():
    missing = {name for name in route_names()
               if name not in ROUTES and not name.startswith(ADMIN_SITE)}
    assert missing == set(), f"add these routes to the matrix: {sorted(missing)}"


def client_for(principal: str, world, admin_user, member):
    client = APIClient()
    if principal == "admin":
        client.force_login(admin_user)
    elif principal == "member":
        client.force_login(member)
    elif principal == "inactive":
        client.force_login(world["inactive"])
    elif principal == "expired-token":
        client.credentials(HTTP_AUTHORIZATION=f"Token {world['expired_key']}")
    elif principal == "revoked-token":
        client.credentials(HTTP_AUTHORIZATION=f"Token {world['revoked_key']}")
    return client


def snapshot():
    return (
        sorted((s.pk, s.name, s.value.token, s.updated_at) for s in Secret.objects.all()),
        SecretVersion.objects.count(),
        sorted(ApiToken.objects.values_list("pk", "revoked_at")),
    )


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_the_matrix(principal, world, admin_user, member):
    failures = []
    for name, (kind, methods) in ROUTES.items():
        if kind == "public" and principal != "anonymous":
            continue  # public routes: anonymous is the case that matters
        for method in methods:
            client = client_for(principal, world, admin_user, member)
            before = snapshot()
            body = {"name": "hacked", "key": "HACKED", "value": "HACKED-VALUE"}
            data = "" if method == "GET" else json.dumps(body)
            response = client.generic(method, url_for(name, world), data=data,
                                      content_type="application/json")
            rule = expected(kind, principal, method)
            status = response.status_code
            ok = rule(status) if callable(rule) else status in rule
            if not ok:
                failures.append(f"{principal} {method} {name} -> {status}")
            refused = status in (401, 403) or (status == 302 and kind.startswith("console"))
            if method in WRITES and refused and snapshot() != before:
                failures.append(f"{principal} {method} {name}: refused but changed data")
            text = (b"".join(response.streaming_content) if response.streaming
                    else response.content).decode(errors="replace")
            if "MATRIX-CANARY" in text and not (
                principal == "admin" and name in ("secret-decrypt", "secrets:decrypt")
            ):
                failures.append(f"{principal} {method} {name}: plaintext in the answer")
    assert failures == []
