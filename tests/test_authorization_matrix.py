"""Authorization matrix (issue 7): every named route of the console and the API, generated
from the URLconf (a new route without a row here fails), against anonymous, non-admin and
admin users, expired and revoked tokens, and a deactivated admin. Refused writes change
nothing."""

import json
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from secrets_app.access.models import ApiToken
from secrets_app.access.tokens import create_token
from secrets_app.models import Secret, SecretVersion
from secrets_app.services.secrets import create_secret, update_secret

pytestmark = pytest.mark.django_db

# route name -> (kind, methods tried). Kinds are defined by EXPECTED below.
ROUTES = {
    "home": ("console-read", ["GET"]),
    "login": ("public", ["GET"]),
    "logout": ("public", ["POST"]),
    "healthz": ("public", ["GET"]),
    "api:schema": ("public", ["GET"]),
    "api:docs": ("public", ["GET"]),
    "catalog": ("console-read", ["GET"]),
    "settings": ("console-read", ["GET", "POST"]),
    "token-revoke": ("console-own", ["POST"]),
    "secrets:list": ("console-read", ["GET"]),
    "secrets:masked": ("console-read", ["GET"]),
    "secrets:create": ("console-admin", ["GET", "POST"]),
    "secrets:edit": ("console-admin", ["GET", "POST"]),
    "secrets:delete": ("console-admin", ["GET", "POST"]),
    "secrets:decrypt": ("console-admin", ["POST"]),
    "secrets:import": ("console-admin", ["GET", "POST"]),
    "secrets:versions": ("console-admin", ["GET"]),
    "secrets:restore": ("console-admin", ["POST"]),
    "audit:log": ("console-admin", ["GET"]),
    "audit:export": ("console-admin", ["GET"]),
    "audit:verify": ("console-admin", ["POST"]),
    "api:secret-list": ("api-read", ["GET", "POST"]),
    "api:secret-detail": ("api-read", ["GET", "PUT", "PATCH", "DELETE"]),
    "api:secret-profiles": ("api-read", ["GET"]),
    "api:secret-decrypt": ("api-admin", ["POST"]),
    "api:secret-ssh-tunnel": ("api-admin", ["POST"]),
    "api:secret-versions": ("api-admin", ["GET"]),
    "api:secret-restore": ("api-admin", ["POST"]),
    "api:secret-import-file": ("api-admin", ["POST"]),
    "api:audit-list": ("api-admin", ["GET"]),
    "api:audit-detail": ("api-admin", ["GET"]),
    "api:token-list": ("api-own", ["GET", "POST"]),
    "api:token-detail": ("api-own", ["DELETE"]),
}
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


@pytest.fixture
def world(admin_user, member):
    secret = create_secret(admin_user, name="target", key="SSH_HOST", value="MATRIX-CANARY",
                           ssh=None)
    update_secret(secret, admin_user, value="MATRIX-CANARY-2")
    member_token, _ = create_token(member, "mine")
    expired, expired_key = create_token(admin_user, "old", expires_in_days=1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))
    revoked, revoked_key = create_token(admin_user, "gone")
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    from django.contrib.auth.models import User

    inactive = User.objects.create_superuser("ghost", "", "ghost-password")
    inactive.is_active = False
    inactive.save()
    sequence = AuditLog.objects.order_by("sequence").first().sequence
    return {
        "secret": secret, "member_token": member_token, "expired_key": expired_key,
        "revoked_key": revoked_key, "inactive": inactive, "sequence": sequence,
    }


def url_for(name: str, world) -> str:
    kwargs = {
        "secrets:masked": {"pk": world["secret"].pk}, "secrets:edit": {"pk": world["secret"].pk},
        "secrets:delete": {"pk": world["secret"].pk},
        "secrets:decrypt": {"pk": world["secret"].pk},
        "secrets:versions": {"pk": world["secret"].pk},
        "secrets:restore": {"pk": world["secret"].pk, "number": 1},
        "token-revoke": {"pk": world["member_token"].pk},
        "api:secret-detail": {"pk": world["secret"].pk},
        "api:secret-decrypt": {"pk": world["secret"].pk},
        "api:secret-versions": {"pk": world["secret"].pk},
        "api:secret-restore": {"pk": world["secret"].pk, "number": "1"},
        "api:audit-detail": {"sequence": world["sequence"]},
        "api:token-detail": {"pk": world["member_token"].pk},
    }.get(name, {})
    return reverse(name, kwargs=kwargs)


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
                principal == "admin" and name in ("api:secret-decrypt", "secrets:decrypt")
            ):
                failures.append(f"{principal} {method} {name}: plaintext in the answer")
    assert failures == []
