"""The authorization matrix (issue 12, R2, R18, R19): every route of the URLconf, every
principal, every method it answers, against tests/authorization_table.py. A route the table
does not cover fails test_every_route_is_in_the_table, so a new route cannot skip it.

Each case checks the status (and a redirect's target, an API refusal's body); for a refusal
also that nothing changed (secrets, versions, grants, service tokens, API tokens) and that an
audit row with allowed=False was written. A 401 writes none: anonymous requests are not
audited, so that unauthenticated noise cannot flood the log (and grow its hash chain) for
free. Plaintext appears only in an allowed decrypt.

Cells the code cannot pass yet carry a reason in the table (`pending`) and run as strict
xfails: they fail the day they pass, so the marker is removed then.
"""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Max
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit_app.models import AuditLog
from secrets_app.access.grants import add_grant
from secrets_app.access.models import ApiToken, ProfileGrant, Role, ServiceToken
from secrets_app.access.permissions import ADMIN_GROUP
from secrets_app.access.service_tokens import create_service_token
from secrets_app.access.tokens import create_token
from secrets_app.models import Secret, SecretVersion
from secrets_app.services.secrets import create_secret, update_secret
from tests import authorization_table as table
from tests.helpers import ROUTES as NO_STORE_ROUTES

CANARY = "MATRIX-CANARY"
WRONG_NETWORK_ADDRESS = "192.0.2.10"  # outside the svc-network token's 10.0.0.0/8
PLAINTEXT_ROUTES = {"api:secret-decrypt", "secrets:decrypt", "api:credentials"}
SKIPPED_METHODS = {"head", "options"}  # DRF answers them for every view alike


# --- the URLconf -------------------------------------------------------------------------------

def walk(patterns=None, namespace="", prefix=""):
    """(name, pattern text, callback, argument names) of every route, through includes."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, inner, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield name, prefix + str(pattern.pattern), pattern.callback, tuple(
                pattern.pattern.regex.groupindex)


def drf_methods(callback) -> set[str] | None:
    """The methods a DRF view answers (a router's actions, an APIView's handlers); None for a
    Django view, whose methods the table names."""
    actions = getattr(callback, "actions", None)
    if actions:
        return {method.upper() for method in actions} - {m.upper() for m in SKIPPED_METHODS}
    view_class = getattr(callback, "cls", None)
    if view_class is not None:
        return {method.upper() for method in view_class.http_method_names
                if hasattr(view_class, method) and method not in SKIPPED_METHODS}
    return None


def grouped(name: str | None, pattern: str) -> bool:
    if name is None:
        return pattern.startswith(tuple(table.UNNAMED_PREFIXES))
    return name.startswith(tuple(table.PREFIX_GROUPS))


ROUTE_NAMES = {name for name, _pattern, _callback, _args in walk() if name}
ARGUMENTS = {name: args for name, _pattern, _callback, args in walk() if name}


def cases():
    for route, method in table.TABLE:
        if route not in ROUTE_NAMES:
            continue  # test_every_table_entry_is_a_route says so
        for principal in table.PRINCIPALS:
            expect = table.expected(route, method, principal)
            marks = [pytest.mark.xfail(strict=True, reason=expect.pending)] if (
                expect.pending) else []
            yield pytest.param(route, method, principal, marks=marks,
                               id=f"{method} {route} {principal}")


def test_every_route_is_in_the_table():
    missing = []
    for name, pattern, callback, _args in walk():
        if grouped(name, pattern):
            continue
        if name is None:
            missing.append(f"unnamed route {pattern}")
            continue
        listed = {method for route, method in table.TABLE if route == name}
        if not listed:
            missing.append(f"{name} ({pattern})")
        for method in sorted((drf_methods(callback) or set()) - listed):
            missing.append(f"{method} {name}")
    assert missing == [], f"add to tests/authorization_table.py: {missing}"


def test_every_table_entry_is_a_route():
    """The grants and service-token routes come from the API and console branches of issue
    12: this goes green once they are merged."""
    missing = sorted({route for route, _method in table.TABLE if route not in ROUTE_NAMES})
    assert missing == [], f"no route for these table entries: {missing}"
    methods = {name: drf_methods(callback) for name, _p, callback, _args in walk() if name}
    unanswered = sorted(f"{method} {route}" for route, method in table.TABLE
                        if methods.get(route) is not None and method not in methods[route])
    assert unanswered == [], f"the view does not answer these methods: {unanswered}"


def test_no_store_walks_every_route():
    """tests/test_no_store.py walks tests/helpers.ROUTES: it must list every route too."""
    names = {name for name, pattern, _callback, _args in walk()
             if name and not grouped(name, pattern)}
    assert sorted(names - set(NO_STORE_ROUTES)) == []


# --- the cast: who asks, and what they aim at -----------------------------------------------

@pytest.fixture
def cast(db):
    """Secrets in development (POSTGRES_PASSWORD, API_KEY) and production (POSTGRES_PASSWORD),
    each with a version to restore; the people; a grant, another user's API token and a
    service token to delete."""
    root = User.objects.create_user("root-matrix", password="x")
    root.groups.add(Group.objects.get(name=ADMIN_GROUP))
    root = User.objects.get(pk=root.pk)
    secrets = {}
    for name, key, profile, category in [
        ("dev-db", "POSTGRES_PASSWORD", "development", "Database"),
        ("dev-api", "API_KEY", "development", "Custom"),
        ("prod-db", "POSTGRES_PASSWORD", "production", "Database"),
    ]:
        secret = create_secret(root, name=name, key=key, value=f"{CANARY}-{name}-1",
                               profile=profile, category=category, ssh=None)
        update_secret(secret, root, value=f"{CANARY}-{name}-2")
        secrets[name] = secret
    people = {}
    for name in ("plain", "reader", "greader", "editor", "admin", "carol", "inactive"):
        people[name] = User.objects.create_user(name, password=f"{name}-password")
    people["admin"].groups.add(Group.objects.get(name=ADMIN_GROUP))
    people["inactive"].groups.add(Group.objects.get(name=ADMIN_GROUP))
    User.objects.filter(pk=people["inactive"].pk).update(is_active=False)
    readers = Group.objects.create(name="data-readers")
    people["greader"].groups.add(readers)
    add_grant(root, people["reader"], "development", Role.READER)
    add_grant(root, readers, "development", Role.READER)
    add_grant(root, people["editor"], "development", Role.EDITOR)
    grant, _ = add_grant(root, people["carol"], "staging", Role.READER)
    carol_token, _ = create_token(people["carol"], "carol's")
    victim, _ = create_service_token(root, name="victim", profiles=["staging"])
    return {
        "root": root, "secrets": secrets, "people": people, "grant": grant,
        "carol_token": carol_token, "service_token": victim,
        "sequence": AuditLog.objects.order_by("sequence").first().sequence,
    }


PERSON = {
    "plain": "plain", "reader-in": "reader", "reader-out": "reader",
    "group-reader-in": "greader", "group-reader-out": "greader",
    "editor-in": "editor", "editor-out": "editor", "admin": "admin", "inactive": "inactive",
}


def client_for(principal: str, cast, *, api: bool, settings=None) -> APIClient:
    """A person signs in with a session in the console and a personal token in the API; a
    service token sends its key everywhere (the console does not read it)."""
    client = APIClient()
    root = cast["root"]
    key = None
    if principal in PERSON:
        user = User.objects.get(username=PERSON[principal])
        if api:
            key = create_token(user, "matrix")[1]
        else:
            client.force_login(user)
    elif principal in ("token-expired", "token-revoked"):
        token, key = create_token(cast["people"]["admin"], "dead", expires_in_days=1)
        ApiToken.objects.filter(pk=token.pk).update(**(
            {"expires_at": timezone.now() - timedelta(minutes=1)}
            if principal == "token-expired" else {"revoked_at": timezone.now()}))
    elif principal.startswith("svc-"):
        scope = {"name": principal, "profiles": ["development"]}
        if principal == "svc-key-out":
            scope["keys"] = ["POSTGRES_*"]
        if principal == "svc-network":
            scope["allowed_networks"] = ["10.0.0.0/8"]
            client.defaults["REMOTE_ADDR"] = WRONG_NETWORK_ADDRESS
        token, key = create_service_token(root, **scope)
        if principal == "svc-expired":
            ServiceToken.objects.filter(pk=token.pk).update(
                expires_at=timezone.now() - timedelta(minutes=1))
        elif principal == "svc-revoked":
            ServiceToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    if principal == "svc-throttled" and settings is not None:
        # Per day, not per minute: the budget and the request must fall in one fixed window,
        # and a minute's edge between them made this case flaky.
        settings.SECRETS_SERVICE_TOKEN_RATE = "1/d"
        assert client.get(reverse("api:secret-profiles")).status_code == 200  # the budget
    return client


def url_for(route: str, principal: str, cast) -> str:
    secret = cast["secrets"][table.target_secret(principal)]
    kwargs = {
        "pk": {
            "api:token-detail": cast["carol_token"].pk, "token-revoke": cast["carol_token"].pk,
            "api:grant-detail": cast["grant"].pk, "secrets:access-remove": cast["grant"].pk,
            "api:service-token-detail": cast["service_token"].pk,
            "secrets:service-token-revoke": cast["service_token"].pk,
        }.get(route, secret.pk),
        "number": 1,
        "sequence": cast["sequence"],
    }
    return reverse(route, kwargs={name: kwargs[name] for name in ARGUMENTS[route]})


def request_for(route: str, method: str, principal: str, cast):
    """(query string, data, content type) for the request; None content type: a form."""
    profile = table.target_profile(principal)
    secret = cast["secrets"][table.target_secret(principal)]
    new = {"name": "matrix-new", "key": "MATRIX_KEY", "value": f"{CANARY}-new",
           "profile": profile}
    yaml = f"{profile}:\n  MATRIX_IMPORTED: {CANARY}-imported\n".encode()
    api_bodies = {
        ("api:secret-list", "POST"): new,
        ("api:secret-detail", "PUT"): {"name": secret.name, "key": secret.key,
                                       "value": f"{CANARY}-put", "profile": secret.profile},
        ("api:secret-detail", "PATCH"): {"value": f"{CANARY}-patch"},
        ("api:secret-ssh-tunnel", "POST"): {"profile": profile},
        ("api:token-list", "POST"): {"name": "matrix-made"},
        ("api:grant-list", "POST"): {"user": "carol", "profile": "development",
                                     "role": "reader"},
        ("api:service-token-list", "POST"): {"name": "matrix-etl", "profiles": ["development"]},
    }
    console_forms = {
        ("secrets:create", "POST"): new,
        ("secrets:edit", "POST"): {"name": secret.name, "key": secret.key,
                                   "value": f"{CANARY}-edit", "profile": secret.profile},
        ("secrets:import", "POST"): {
            "file": SimpleUploadedFile("io_config.yaml", yaml), "profile": profile},
        ("settings", "POST"): {"name": "matrix-made", "expires_in_days": "30"},
        ("login", "POST"): {"username": PERSON.get(principal, "nobody"),
                            "password": "not-the-password"},
        ("secrets:access", "POST"): {"user": "carol", "profile": "development",
                                     "role": "reader"},
        ("secrets:service-tokens", "POST"): {"name": "matrix-etl",
                                             "profiles": "development"},
    }
    if (route, method) == ("api:credentials", "GET"):
        return f"?profile={profile}&keys={secret.key}", "", "application/json"
    if (route, method) == ("api:secret-import-file", "POST"):
        return f"?profile={profile}", yaml, "application/yaml"
    if (route, method) in api_bodies:
        return "", json.dumps(api_bodies[(route, method)]), "application/json"
    if route.startswith("api:"):
        return "", "", "application/json"
    return "", console_forms.get((route, method), {}), None


def snapshot():
    """What no refusal may change."""
    return (
        sorted((str(s.pk), s.name, s.profile, s.updated_at, s.value.token)
               for s in Secret.objects.all()),
        SecretVersion.objects.count(),
        sorted(ProfileGrant.objects.values_list("pk", "user_id", "group_id", "profile", "role")),
        sorted((t.pk, t.name, t.revoked_at, t.expires_at, t.profiles, t.key_patterns)
               for t in ServiceToken.objects.all()),
        sorted(ApiToken.objects.values_list("pk", "user_id", "name", "revoked_at",
                                            "expires_at")),
    )


def last_sequence() -> int:
    return AuditLog.objects.aggregate(last=Max("sequence"))["last"] or 0


def body_of(response) -> str:
    content = (b"".join(response.streaming_content) if response.streaming
               else response.content)
    return content.decode(errors="replace")


@pytest.mark.parametrize(("route", "method", "principal"), list(cases()))
def test_R18_R19_authorization_matrix(route, method, principal, cast, settings):
    expect = table.expected(route, method, principal)
    api = route.startswith("api:")
    client = client_for(principal, cast, api=api, settings=settings)
    query, data, content_type = request_for(route, method, principal, cast)
    url = url_for(route, principal, cast) + query
    before, since = snapshot(), last_sequence()

    if content_type is None:  # a console form (multipart, as a browser sends a file)
        response = client.generic(method, url) if method == "GET" else getattr(
            client, method.lower())(url, data)
    else:
        response = client.generic(method, url, data=data, content_type=content_type)
    text = body_of(response)

    assert response.status_code in expect.statuses, (
        f"{method} {url} as {principal}: {response.status_code}, expected "
        f"{sorted(expect.statuses)}: {text[:300]}")
    if expect.location:
        assert response["Location"].startswith(expect.location), response["Location"]
    if response.status_code == 429:
        assert int(response["Retry-After"]) >= 1
    if expect.body is not None:
        assert json.loads(text) == expect.body
    if expect.refusal or expect.unchanged:
        assert snapshot() == before, "refused, yet something changed"
    if expect.refusal:
        rows = AuditLog.objects.filter(sequence__gt=since, allowed=False)
        actions = set(rows.values_list("action", flat=True))
        assert actions & expect.refusal, (
            f"no audit row {sorted(expect.refusal)} with allowed=False (rows: {actions})")
    if CANARY in text:
        assert route in PLAINTEXT_ROUTES and response.status_code == 200, (
            "plaintext outside an allowed decrypt")


# --- the Django admin: staff only ------------------------------------------------------------

ADMIN_ROUTES = sorted(
    (name or pattern, pattern) for name, pattern, _callback, _args in walk()
    if grouped(name, pattern))


ADMIN_ARGUMENTS = {"object_id": "1", "id": "1", "app_label": "secrets_app", "content_type_id": 1,
                   "url": "no-such-page/"}


def admin_url(name: str, pattern: str) -> str:
    if name == pattern:  # unnamed: the catch-all, the redirects of old object URLs
        return "/" + pattern.replace("(?P<url>.*)$", "no-such-page/").replace(
            "<path:object_id>", "1")
    return reverse(name, kwargs={arg: ADMIN_ARGUMENTS[arg] for arg in ARGUMENTS[name]})


@pytest.mark.parametrize(("name", "pattern"), ADMIN_ROUTES, ids=[n for n, _p in ADMIN_ROUTES])
def test_the_django_admin_sends_non_staff_to_its_sign_in(name, pattern, cast):
    """Nobody in the matrix is staff (the admins of the secrets are not): every page of the
    Django admin sends them to its sign-in, but the sign-in itself."""
    url = admin_url(name, pattern)
    failures = []
    for principal in table.PRINCIPALS:
        client = client_for(principal, cast, api=False)
        for method in ("GET", "POST"):
            before = snapshot()
            response = client.generic(method, url)
            status = response.status_code
            if name in ("admin:login",):
                good = status == 200 if method == "GET" else status in (200, 302)
            elif name == "admin:logout":
                good = status in (200, 302, 405)
            else:
                good = status == 302 and response["Location"].startswith("/admin/login/")
            if not good:
                failures.append(f"{method} {principal}: {status}")
            if snapshot() != before:
                failures.append(f"{method} {principal}: changed something")
    assert failures == []
