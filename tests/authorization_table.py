"""The authorization matrix's expectation table (issue 12): every route of the URLconf, every
principal, every method, and what it must answer. tests/test_authorization_matrix.py walks
the URLconf and fails on a route this table does not cover.

A principal is who asks and, for "-in"/"-out", which secret or profile it aims at: "in" is
development (where the reader, editor and service token hold their grant or scope), "out"
is production. `expected(route, method, principal)` answers an Expect.
"""

from dataclasses import dataclass, replace

# --- principals ------------------------------------------------------------------------------

PEOPLE = [
    "plain",  # signed in, no grants
    "reader-in", "reader-out",  # a user grant: reader of development
    "group-reader-in", "group-reader-out",  # reader of development through a group grant
    "editor-in", "editor-out",  # a user grant: editor of development
    "admin",  # member of "Secrets administrators" (not staff, not superuser)
]
SERVICE = [
    "svc-in",  # a service token scoped to development, asking for development
    "svc-out",  # the same token asking for production
    "svc-key-out",  # a token for development's POSTGRES_* keys, asking for API_KEY
    "svc-network",  # a token allowed from 10.0.0.0/8, used from 192.0.2.10
    "svc-throttled",  # a token in scope whose request budget is spent
]
# Credentials that do not sign anyone in: no session, no usable token.
NOBODY = [
    "anonymous",
    "svc-expired", "svc-revoked",  # service tokens (in scope otherwise)
    "token-expired", "token-revoked",  # personal tokens of an admin
    "inactive",  # a deactivated admin (session and token)
]
PRINCIPALS = ["anonymous", *PEOPLE, *SERVICE, *NOBODY[1:]]

# Who may do what to the target (the secret or profile a principal aims at).
READS_TARGET = {"reader-in", "group-reader-in", "editor-in", "admin", "svc-in"}
WRITES_TARGET = {"editor-in", "admin"}
WRITES_SOMEWHERE = {"editor-in", "editor-out", "admin"}
# Service tokens reach these API actions (SecretViewSet.service_actions); a token that
# authenticates from the wrong network reaches nothing.
LISTING_TOKENS = {"svc-in", "svc-out", "svc-key-out"}


def target_profile(principal: str) -> str:
    return "production" if principal.endswith("-out") and principal != "svc-key-out" else (
        "development")


def target_secret(principal: str) -> str:
    """The fixture's secret a principal aims at (tests/test_authorization_matrix.py)."""
    if principal == "svc-key-out":
        return "dev-api"  # development's API_KEY: outside the POSTGRES_* pattern
    return "prod-db" if target_profile(principal) == "production" else "dev-db"


# Refused as they authenticate, before any view: the same answer on every API route.
REFUSED_ON_ARRIVAL = {"svc-network", "svc-throttled"}


# --- expectations ----------------------------------------------------------------------------

DENIED = "DENIED"
DECRYPT = "DECRYPT"
LOGIN_FAILED = "LOGIN_FAILED"
ADMIN_REQUIRED = {"detail": "Admin privileges required"}


@dataclass(frozen=True)
class Expect:
    statuses: frozenset  # acceptable status codes (one, mostly)
    # A refusal: the audit actions one of its allowed=False rows may have; nothing changes.
    refusal: frozenset = frozenset()
    location: str | None = None  # a redirect's target starts with this
    body: dict | None = None  # the JSON answer
    unchanged: bool = False  # not a refusal, yet nothing may change (import per entry)
    pending: str | None = None  # why this cell cannot pass yet (strict xfail)


def ok(*statuses: int) -> Expect:
    return Expect(frozenset(statuses))


def refused(status: int, *actions: str, body=None) -> Expect:
    return Expect(frozenset({status}), frozenset(actions), body=body)


UNAUTHENTICATED_API = ok(401)  # not audited: see test_authorization_matrix.py
FORBIDDEN_API = refused(403, DENIED, body=ADMIN_REQUIRED)
DECRYPT_REFUSED_API = refused(403, DECRYPT, body=ADMIN_REQUIRED)
# R19: "requests from elsewhere get 403", saying why (the token is right, the place is not).
WRONG_NETWORK = refused(403, DENIED, body={
    "detail": "This service token may not be used from this address."})
# R19: past its own budget, 429 with Retry-After (test_authorization_matrix checks it).
THROTTLED = refused(429, DENIED, body={"detail": "Rate limit exceeded. Try again later."})
TO_LOGIN = Expect(frozenset({302}), location="/accounts/login/")
FORBIDDEN_CONSOLE = refused(403, DENIED)
DECRYPT_REFUSED_CONSOLE = refused(403, DECRYPT)
# The console's Settings -> Access and Service tokens answer a page, a redirect or a 204.
CONSOLE_DONE = ok(200, 204, 302)


def _api(allowed, status: int, no: Expect = FORBIDDEN_API, *, tokens: bool = False):
    """An API action: `allowed` principals get `status`, the others `no`. A service token
    reaches only the actions `tokens` says (SecretViewSet.service_actions); elsewhere it is
    refused as it arrives, like a token from the wrong network everywhere."""

    def rule(principal):
        if principal in NOBODY:
            return UNAUTHENTICATED_API
        if principal in REFUSED_ON_ARRIVAL:
            return WRONG_NETWORK if principal == "svc-network" else THROTTLED
        if principal in SERVICE and not tokens:
            return FORBIDDEN_API
        return ok(status) if principal in allowed else no

    return rule


def _console(allowed, status, no: Expect = FORBIDDEN_CONSOLE):
    """A console page: people in `allowed` get `status` (an int or an Expect), other people
    `refused`; no session (a service token is just "not signed in") goes to the sign-in."""

    def rule(principal):
        if principal in NOBODY or principal in SERVICE:
            return TO_LOGIN
        if principal in allowed:
            return status if isinstance(status, Expect) else ok(status)
        return no

    return rule


def _same_for_all(expect: Expect):
    return lambda principal: expect


def _pending(rule, principals, reason):
    def pending(principal):
        expect = rule(principal)
        if reason and principal in principals:
            return replace(expect, pending=reason)
        return expect

    return pending


ALL_PEOPLE = set(PEOPLE)
ADMINS = {"admin"}
# R18 in the console: editors create, edit, delete, import and restore in their profiles.
# (These cells were strict xfails until the console asked access_of, i12-console; a reason
# here marks them so again, should a change to the console be in flight.)
CONSOLE_EDITORS = None

# An import by editor-out names production: every entry fails ("you have no editor grant on
# production"), the answer is the summary (200), and nothing changes.
IMPORT_PER_ENTRY = Expect(frozenset({200}), unchanged=True)

API = {
    ("api:secret-list", "GET"): _api(ALL_PEOPLE | LISTING_TOKENS, 200, tokens=True),
    ("api:secret-list", "POST"): _api(WRITES_TARGET, 201),
    ("api:secret-detail", "GET"): _api(ALL_PEOPLE | {"svc-in"}, 200, tokens=True),
    ("api:secret-detail", "PUT"): _api(WRITES_TARGET, 200),
    ("api:secret-detail", "PATCH"): _api(WRITES_TARGET, 200),
    ("api:secret-detail", "DELETE"): _api(WRITES_TARGET, 204),
    ("api:secret-profiles", "GET"): _api(ALL_PEOPLE | LISTING_TOKENS, 200, tokens=True),
    ("api:secret-decrypt", "POST"): _api(READS_TARGET, 200, DECRYPT_REFUSED_API, tokens=True),
    # Allowed: the gate lets it through, and development has no SSH tunnel (404).
    ("api:secret-ssh-tunnel", "POST"): _api(READS_TARGET, 404, DECRYPT_REFUSED_API,
                                            tokens=True),
    ("api:secret-versions", "GET"): _api(WRITES_TARGET, 200),
    ("api:secret-restore", "POST"): _api(WRITES_TARGET, 200),
    # The import's gate is the decrypt gate (an import compares values): DECRYPT refused.
    ("api:secret-import-file", "POST"): lambda principal: (
        IMPORT_PER_ENTRY if principal == "editor-out"
        else _api(WRITES_TARGET, 200, DECRYPT_REFUSED_API)(principal)),
    ("api:audit-list", "GET"): _api(ADMINS, 200),
    ("api:audit-detail", "GET"): _api(ADMINS, 200),
    # Your own tokens; the target is another user's token: not found, even for admins.
    ("api:token-list", "GET"): _api(ALL_PEOPLE, 200),
    ("api:token-list", "POST"): _api(ALL_PEOPLE, 201),
    ("api:token-detail", "DELETE"): _api(ALL_PEOPLE, 404),
    # R18/R19 management: admins only (routes of i12-api).
    ("api:grant-list", "GET"): _api(ADMINS, 200),
    ("api:grant-list", "POST"): _api(ADMINS, 201),
    ("api:grant-detail", "DELETE"): _api(ADMINS, 204),
    ("api:service-token-list", "GET"): _api(ADMINS, 200),
    ("api:service-token-list", "POST"): _api(ADMINS, 201),
    ("api:service-token-detail", "DELETE"): _api(ADMINS, 204),
    # R20: a decrypt of many keys, in the caller's scope; its 403 names what was refused.
    ("api:credentials", "GET"): _api(READS_TARGET, 200, refused(403, DECRYPT), tokens=True),
}


def _import_console(principal):
    if principal == "editor-out":
        return IMPORT_PER_ENTRY
    # Refused by the view (DENIED) or by the import's decrypt gate (DECRYPT).
    return _console(WRITES_TARGET, 200, refused(403, DENIED, DECRYPT))(principal)


CONSOLE = {
    ("catalog", "GET"): _console(ALL_PEOPLE, 200),
    ("settings", "GET"): _console(ALL_PEOPLE, 200),
    ("settings", "POST"): _console(ALL_PEOPLE, 200),  # creates a token of one's own
    ("token-revoke", "POST"): _console(ALL_PEOPLE, 404),  # another user's token
    ("secrets:list", "GET"): _console(ALL_PEOPLE, 200),
    ("secrets:masked", "GET"): _console(ALL_PEOPLE, 200),
    ("secrets:decrypt", "POST"): _console(READS_TARGET, 200, DECRYPT_REFUSED_CONSOLE),
    ("secrets:create", "GET"): _pending(_console(WRITES_SOMEWHERE, 200),
                                        {"editor-in", "editor-out"}, CONSOLE_EDITORS),
    ("secrets:create", "POST"): _pending(_console(WRITES_TARGET, 204),
                                         {"editor-in"}, CONSOLE_EDITORS),
    ("secrets:edit", "GET"): _pending(_console(WRITES_TARGET, 200), {"editor-in"},
                                      CONSOLE_EDITORS),
    ("secrets:edit", "POST"): _pending(_console(WRITES_TARGET, 204), {"editor-in"},
                                       CONSOLE_EDITORS),
    ("secrets:delete", "GET"): _pending(_console(WRITES_TARGET, 200), {"editor-in"},
                                        CONSOLE_EDITORS),
    ("secrets:delete", "POST"): _pending(_console(WRITES_TARGET, 204), {"editor-in"},
                                         CONSOLE_EDITORS),
    ("secrets:import", "GET"): _pending(_console(WRITES_SOMEWHERE, 200),
                                        {"editor-in", "editor-out"}, CONSOLE_EDITORS),
    ("secrets:import", "POST"): _pending(_import_console, {"editor-in", "editor-out"},
                                         CONSOLE_EDITORS),
    ("secrets:versions", "GET"): _pending(_console(WRITES_TARGET, 200), {"editor-in"},
                                          CONSOLE_EDITORS),
    ("secrets:restore", "POST"): _pending(_console(WRITES_TARGET, 204), {"editor-in"},
                                          CONSOLE_EDITORS),
    ("audit:log", "GET"): _console(ADMINS, 200),
    ("audit:export", "GET"): _console(ADMINS, 200),
    ("audit:verify", "POST"): _console(ADMINS, 200),
    # R18/R19 management in Settings (routes of the console helper): admins only.
    ("secrets:access", "GET"): _console(ADMINS, 200),
    ("secrets:access", "POST"): _console(ADMINS, CONSOLE_DONE),
    ("secrets:access-remove", "POST"): _console(ADMINS, CONSOLE_DONE),
    ("secrets:service-tokens", "GET"): _console(ADMINS, 200),
    ("secrets:service-tokens", "POST"): _console(ADMINS, CONSOLE_DONE),
    ("secrets:service-token-revoke", "POST"): _console(ADMINS, CONSOLE_DONE),
}

# Outside the access model, each listed with what it answers everyone.
OPEN = {
    ("home", "GET"): _same_for_all(Expect(frozenset({302}), location="/secrets/")),
    ("healthz", "GET"): _same_for_all(ok(200)),
    ("login", "GET"): _same_for_all(ok(200)),
    # A wrong password: the form again, and a LOGIN_FAILED row.
    ("login", "POST"): _same_for_all(refused(200, LOGIN_FAILED)),
    ("logout", "POST"): _same_for_all(Expect(frozenset({302}), location="/accounts/login/")),
}


def _schema(principal):
    """The OpenAPI schema and its Swagger UI are public, but DRF authenticates whatever
    credentials come with the request: a dead token is 401, a token from the wrong network
    403 (audited)."""
    if principal in ("svc-expired", "svc-revoked", "token-expired", "token-revoked",
                     "inactive"):
        return UNAUTHENTICATED_API
    if principal == "svc-network":
        return refused(403, DENIED)  # in the schema's own format, not JSON
    if principal == "svc-throttled":
        return refused(429, DENIED)
    return ok(200)


OPEN[("api:schema", "GET")] = _schema
OPEN[("api:docs", "GET")] = _schema

TABLE = {**API, **CONSOLE, **OPEN}

# Routes grouped by name prefix: the Django admin, behind its own staff sign-in. Nobody in
# PRINCIPALS is staff: every admin page sends them to the admin's sign-in
# (test_the_django_admin_sends_non_staff_to_its_sign_in walks each of its routes).
PREFIX_GROUPS = {
    "admin:": "Django admin: staff only, others to /admin/login/",
}
# Unnamed routes, by the start of their pattern.
UNNAMED_PREFIXES = {
    "admin/": "Django admin (its catch-all, the redirects of old object URLs): staff only, "
              "others to /admin/login/",
}


def expected(route: str, method: str, principal: str) -> Expect:
    return TABLE[(route, method)](principal)
