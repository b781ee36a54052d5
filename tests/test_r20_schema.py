"""Issue 13 (R20): an OpenAPI schema that generates a working client. The schema validates;
operation ids are readable, stable and unique; request bodies are JSON but the import's;
every error answer has a schema and 429/503 declare Retry-After; descriptions speak to the
API's users, not of the code. Then the real thing: openapi-python-client generates a client
from /api/schema/ (no network), every generated module imports, and a short script drives a
live server with it."""

import importlib
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from secrets_app.access.models import ApiToken, ProfileGrant, ServiceToken
from secrets_app.access.tokens import create_token
from secrets_app.models import Secret

ROOT = Path(__file__).resolve().parents[1]
CLIENT_CONFIG = ROOT / "docs" / "openapi-python-client.yaml"
PACKAGE = "kozmo_secrets_client"  # the config's package_name_override
GENERATOR = Path(sys.executable).parent / "openapi-python-client"

OPERATION_ID = re.compile(r"^[a-z]+(_[a-z]+)*$")
# Every operation, by the name a generated client gives its function. A new route adds its
# name here, on purpose: renaming one breaks every client generated before.
OPERATION_IDS = {
    "secrets_list", "secrets_create", "secrets_retrieve", "secrets_update",
    "secrets_partial_update", "secrets_destroy", "secrets_decrypt", "secrets_profiles",
    "secrets_import", "secrets_ssh_tunnel", "secrets_versions", "secrets_restore",
    "audit_list", "audit_retrieve", "tokens_list", "tokens_create", "tokens_destroy",
    "grants_list", "grants_create", "grants_destroy", "service_tokens_list",
    "service_tokens_create", "service_tokens_destroy", "credentials_get",
}
# Text that speaks of the code, not to the API's users: DRF's and drf-spectacular's defaults,
# docstrings about services and views, requirement numbers, Python names.
INTERNAL_WORDS = re.compile(
    r"viewset|serializer|queryset|pagination_class|paginated result set|results to return "
    r"per page|which field to use when ordering|identifying this|primitive data|docstring|"
    r"\bthe services\b|\bthe views\b|\bR\d+(\.\d+)?\b|ConfigKey|\bdrf|spectacular|"
    r"rest_framework|django\.|\bself\b|__",
    re.IGNORECASE,
)
HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def descriptions(node, where=""):
    """(where, text) of every description and summary in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                yield where, value
            else:
                yield from descriptions(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from descriptions(value, f"{where}/{index}")


# --- the document ----------------------------------------------------------------------------

def test_R20_the_schema_is_valid_openapi(schema):
    validate_schema(schema)  # drf-spectacular's validator (the OpenAPI 3.0 JSON schema)
    from openapi_spec_validator import validate

    validate(json.loads(json.dumps(schema)))  # and the reference validator, $refs resolved


def test_R20_operation_ids_are_readable_unique_and_stable(schema):
    ids = [operation["operationId"] for _path, _method, operation in operations(schema)]
    assert len(ids) == len(set(ids)), sorted(ids)
    assert all(OPERATION_ID.match(name) for name in ids), ids
    assert set(ids) == OPERATION_IDS
    for path, method, operation in operations(schema):
        # `_create` only for making a row: POST on a collection (not decrypt, not restore).
        if operation["operationId"].endswith("_create"):
            assert method == "post" and path.count("/") == 4 and "{" not in path, path


def test_R20_each_route_appears_once_without_the_optional_slash(schema):
    paths = list(schema["paths"])
    assert all(path.endswith("/") and "?" not in path for path in paths), paths
    assert len({path.rstrip("/") for path in paths}) == len(paths)


def test_R20_every_error_answer_has_a_schema_and_429_and_503_say_when_to_retry(schema):
    components = schema["components"]["schemas"]
    assert components["Error"]["required"] == ["detail"]
    assert "additionalProperties" in components["FieldErrors"]
    seen = set()
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        assert "401" in responses, (path, method)  # every operation needs a caller
        for code, response in responses.items():
            if int(code) < 400:
                continue
            seen.add(code)
            shape = response["content"]["application/json"]["schema"]
            name = shape["$ref"].rsplit("/", 1)[-1]
            assert name in components, (path, method, code)
            assert name == ("FieldErrors" if code == "400" else "Error"), (path, method, code)
            if code in ("429", "503"):
                header = response["headers"]["Retry-After"]
                assert header["schema"]["type"] == "integer", (path, method, code)
    assert {"400", "401", "403", "404", "409", "415", "429", "500", "503"} <= seen


def test_R20_request_bodies_are_json_except_the_import(schema):
    for _path, _method, operation in operations(schema):
        media = set(operation.get("requestBody", {}).get("content", {}))
        if operation["operationId"] == "secrets_import":
            assert media == {"multipart/form-data", "application/yaml"}
        else:
            assert media <= {"application/json"}, (operation["operationId"], media)


def test_R20_every_operation_is_described_for_its_users(schema):
    for path, method, operation in operations(schema):
        text = operation.get("description", "")
        assert len(text) > 30, (path, method, text)
    leaks = [(where, text) for where, text in descriptions(schema) if INTERNAL_WORDS.search(text)]
    assert leaks == []


def test_R20_the_operations_are_grouped_by_resource(schema):
    tags = {operation["operationId"]: operation["tags"]
            for _path, _method, operation in operations(schema)}
    assert tags["secrets_decrypt"] == ["secrets"]
    assert tags["service_tokens_create"] == ["service-tokens"]
    assert tags["credentials_get"] == ["credentials"]
    listed = [tag["name"] for tag in schema["tags"]]
    assert {name for names in tags.values() for name in names} == set(listed)


# --- form bodies -----------------------------------------------------------------------------

FORM_TARGETS = [
    ("post", "/api/v1/secrets/", {"name": "formed", "key": "API_KEY", "value": "v"}),
    ("put", "/api/v1/secrets/{id}/", {"name": "formed", "key": "API_KEY", "value": "v2"}),
    ("patch", "/api/v1/secrets/{id}/", {"value": "v2"}),
    ("post", "/api/v1/tokens/", {"name": "formed"}),
    ("post", "/api/v1/grants/", {"user": "admin", "profile": "production", "role": "reader"}),
    ("post", "/api/v1/service-tokens/", {"name": "formed", "profiles": "default"}),
    ("post", "/api/v1/secrets/ssh-tunnel/", {"profile": "default"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("form", ["multipart", "urlencoded"])
@pytest.mark.parametrize(("method", "url", "data"), FORM_TARGETS,
                         ids=[f"{m} {u}" for m, u, _d in FORM_TARGETS])
def test_R20_a_form_body_is_refused_with_415(admin_user, form, method, url, data):
    from secrets_app.services.secrets import create_secret

    kept = create_secret(admin_user, name="kept", key="API_KEY", value="v")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {create_token(admin_user, 'forms')[1]}")
    url = url.format(id=kept.pk)
    if form == "multipart":
        response = getattr(api, method)(url, data, format="multipart")
    else:
        from urllib.parse import urlencode

        response = getattr(api, method)(url, urlencode(data),
                                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415, response.content
    assert "Unsupported media type" in response.json()["detail"]
    # Nothing was made or changed.
    assert list(Secret.objects.values_list("name", flat=True)) == ["kept"]
    assert Secret.objects.get().versions.count() == 1
    assert ApiToken.objects.count() == 1
    assert not ProfileGrant.objects.exists() and not ServiceToken.objects.exists()


# --- a generated client, against a live server -----------------------------------------------

def generate_client(schema_text: bytes, where: Path) -> Path:
    """openapi-python-client, as docs/api.md says to run it; it formats its output with ruff
    (from this virtualenv: PATH) and reads no network with --path."""
    assert GENERATOR.exists(), (
        f"{GENERATOR} is missing: `make install` installs openapi-python-client (dev extras)")
    (where / "schema.yaml").write_bytes(schema_text)
    output = where / PACKAGE
    done = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(where / "schema.yaml"),
         "--output-path", str(output), "--meta", "none", "--config", str(CLIENT_CONFIG),
         "--fail-on-warning"],
        cwd=where, capture_output=True, text=True, timeout=120,
        env={"PATH": f"{GENERATOR.parent}:/usr/bin:/bin", "HOME": str(where)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    return output


@pytest.fixture
def generated_client(tmp_path, live_server, admin_user):
    """The generated package, imported whole; sys.path and sys.modules restored after."""
    key = create_token(admin_user, "schema")[1]
    served = httpx.get(f"{live_server.url}/api/schema/", trust_env=False,  # no proxy
                       headers={"Authorization": f"Token {key}"}, timeout=30)
    assert served.status_code == 200, served.text[:300]
    generate_client(served.content, tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        package = importlib.import_module(PACKAGE)
        modules = [importlib.import_module(info.name) for info in
                   pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")]
        yield package, modules, key
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.mark.django_db(transaction=True)
def test_R20_a_generated_client_imports_whole_and_drives_a_live_server(
        generated_client, live_server, admin_user):
    package, modules, key = generated_client
    names = {module.__name__.rsplit(".", 1)[-1] for module in modules}
    assert names >= OPERATION_IDS  # one module an operation, named by its id
    assert len(modules) > 60

    from kozmo_secrets_client.api.credentials import credentials_get
    from kozmo_secrets_client.api.secrets import (
        secrets_create,
        secrets_decrypt,
        secrets_list,
        secrets_versions,
    )
    from kozmo_secrets_client.api.tokens import tokens_create, tokens_destroy, tokens_list
    from kozmo_secrets_client.models import (
        ApiTokenRequest,
        CredentialsGetProfile,
        Error,
        FieldErrors,
        ProfileEnum,
        SecretRequest,
    )

    # The generated default sends `Authorization: Bearer <key>`. Straight to the live server,
    # whatever proxy the environment names.
    local = {"trust_env": False}
    client = package.AuthenticatedClient(base_url=live_server.url, token=key,
                                         raise_on_unexpected_status=True, httpx_args=local)

    listed = secrets_list.sync_detailed(client=client)
    assert listed.status_code == 200 and listed.parsed.count == 0

    made = secrets_create.sync_detailed(client=client, body=SecretRequest(
        name="warehouse", key="POSTGRES_PASSWORD", value="s3cret-value",
        profile=ProfileEnum.PRODUCTION))
    assert made.status_code == 201, made.content
    secret = made.parsed
    assert (secret.name, secret.key, secret.value) == ("warehouse", "POSTGRES_PASSWORD",
                                                       "********")

    refused = secrets_create.sync_detailed(client=client, body=SecretRequest(
        name="bad", key="not snake", value="v"))
    assert refused.status_code == 400 and isinstance(refused.parsed, FieldErrors)
    assert refused.parsed["key"]

    opened = secrets_decrypt.sync_detailed(client=client, id=secret.id)
    assert opened.status_code == 200, opened.content
    assert (opened.parsed.value, opened.parsed.profile) == ("s3cret-value", "production")
    assert opened.headers["Cache-Control"] == "no-store"

    fetched = credentials_get.sync_detailed(client=client,
                                            profile=CredentialsGetProfile.PRODUCTION,
                                            keys="POSTGRES_PASSWORD,NOT_THERE")
    assert fetched.status_code == 200, fetched.content
    answer = fetched.parsed.credentials["POSTGRES_PASSWORD"]
    assert (answer.value, answer.source.value, answer.profile) == (
        "s3cret-value", "database", "production")
    assert fetched.parsed.missing == ["NOT_THERE"]

    history = secrets_versions.sync_detailed(client=client, id=secret.id)
    assert history.status_code == 200
    assert [(v.number, v.value) for v in history.parsed] == [(1, "********")]

    minted = tokens_create.sync_detailed(client=client, body=ApiTokenRequest(
        name="from the client", expires_in_days=1))
    assert minted.status_code == 201, minted.content
    assert minted.parsed.key.startswith("kzs_")
    assert "from the client" in [t.name for t in tokens_list.sync(client=client).results]
    gone = tokens_destroy.sync_detailed(client=client, id=minted.parsed.id)
    assert gone.status_code == 204
    revoked = package.AuthenticatedClient(base_url=live_server.url, token=minted.parsed.key,
                                          prefix="Token", httpx_args=local)
    answer = secrets_list.sync_detailed(client=revoked)
    assert answer.status_code == 401 and isinstance(answer.parsed, Error)
    assert answer.parsed.detail
