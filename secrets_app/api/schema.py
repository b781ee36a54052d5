"""The OpenAPI schema's house rules (issue 13): readable operation ids, error answers with
schemas, Retry-After on 429 and 503, no code docstrings in descriptions; plus the token
authentication's description and the profile enum that follows the setting.

A client generated from /api/schema/ (openapi-python-client, see docs/api.md) is built and run
against a live server by tests/test_r20_schema.py.
"""

import re

from drf_spectacular import openapi
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.viewsets import ViewSetMixin

from secrets_app.constants import profiles

# The viewset actions whose names are already what a reader expects.
STANDARD_ACTIONS = {"list", "create", "retrieve", "update", "partial_update", "destroy"}

ERROR = {
    "type": "object",
    "description": "An error: what went wrong, in words.",
    "properties": {
        "detail": {"type": "string"},
        "refused": {
            "type": "array", "items": {"$ref": "#/components/schemas/RefusedKey"},
            "description": "On a refused credentials request: the keys (or the profile) "
                           "outside your grants or your service token's scope.",
        },
    },
    "required": ["detail"],
}
REFUSED_KEY = {
    "type": "object",
    "properties": {"key": {"type": "string"}, "profile": {"type": "string"}},
    "required": ["key", "profile"],
}
# Field messages come as DRF writes them: a list of strings per field, an object for a nested
# field ({"ssh": {"host": [...]}}) or a list's item ({"profiles": {"0": [...]}}); `detail` is
# a string, or a list when the whole request is at fault for several reasons.
MESSAGES = {"type": "array", "items": {"type": "string"}}
FIELD_ERRORS = {
    "type": "object",
    "description": "Invalid input: each field at fault with its messages, e.g. "
                   '`{"key": ["Use an UPPER_SNAKE name…"]}` (a nested field nests the same '
                   "way), and `detail` when the request as a whole is at fault.",
    "properties": {"detail": {"oneOf": [{"type": "string"}, MESSAGES]}},
    "additionalProperties": {"oneOf": [MESSAGES, {"$ref": "#/components/schemas/NestedErrors"}]},
}
NESTED_ERRORS = {
    "type": "object",
    "description": "A nested field's messages, by its own fields (or a list's item numbers).",
    "additionalProperties": {},
}
COMPONENTS = {"Error": ERROR, "RefusedKey": REFUSED_KEY, "FieldErrors": FIELD_ERRORS,
              "NestedErrors": NESTED_ERRORS}
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Seconds to wait before trying again.",
    },
}
ERROR_WORDS = {
    400: "Invalid input: the fields at fault, or a detail",
    401: "Not authenticated: no token, or an unknown, expired or revoked one",
    403: "Admin privileges required: the caller may not do this (audited)",
    404: "Not found (on lists: a page past the last)",
    409: "Conflict: another change was saved meanwhile; nothing was done",
    415: "Unsupported media type: send JSON",
    429: "Rate limit exceeded: try again after Retry-After seconds",
    500: "Failed to decrypt the value (logged and audited, never the value)",
    503: "Unavailable for now (the shared cache is down, or the encryption key cannot be "
         "used yet): try again after Retry-After when it is sent",
}


class AutoSchema(openapi.AutoSchema):
    """REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS."""

    def get_operation_id(self) -> str:
        """`<resource>_<action>`: secrets_list, secrets_decrypt, secrets_restore,
        service_tokens_destroy, credentials_get. The resource is the path's first part; the
        action is the viewset's standard one, a custom action's last literal path part
        (import, ssh_tunnel, restore), or a plain view's method (get)."""
        resource = self._tokenize_path()[0].replace("-", "_")
        action = getattr(self.view, "action", None)
        if not isinstance(self.view, ViewSetMixin):  # a plain view (any `action` is its own)
            verb = self.method.lower()
        elif action in STANDARD_ACTIONS:
            verb = action
        else:
            url_path = getattr(getattr(self.view, action), "url_path", action)
            literal = [part for part in url_path.split("/") if re.fullmatch(r"[\w-]+", part)]
            verb = literal[-1].replace("-", "_")
        return f"{resource}_{verb}"

    def get_description(self) -> str:
        # A docstring is written for the code's readers, not the API's: an operation without
        # an @extend_schema description has none (tests/test_r20_schema.py wants every one).
        return ""

    def _map_basic_serializer(self, serializer, direction):
        # The same for shapes: a serializer's docstring is not the API's description.
        schema = super()._map_basic_serializer(serializer, direction)
        schema.pop("description", None)
        return schema

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        first = self._tokenize_path()[0]
        resource = {"audit": "audit row"}.get(first, first.replace("-", " ").removesuffix("s"))
        for parameter in parameters:
            # DRF's "A UUID string identifying this secret." speaks of the database.
            if parameter["name"] in ("id", "sequence"):
                parameter["description"] = f"The {resource}'s {parameter['name']}."
            elif parameter["name"] == "number":
                parameter["description"] = "The version's number (1 is the first value)."
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in responses.items():
            if int(code) < 400:
                continue
            body = (response.get("content") or {}).get("application/json", {})
            if not body.get("schema") or body["schema"] == {"type": "object",
                                                              "additionalProperties": {}}:
                shape = self._error_components()["FieldErrors" if code == "400" else "Error"]
                response["content"] = {"application/json": {"schema": shape.ref}}
            if code in ("429", "503"):
                response.setdefault("headers", {}).update(RETRY_AFTER)
        return responses

    def _error_components(self) -> dict:
        components = {name: ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA,
                                               object=name, schema=schema)
                      for name, schema in COMPONENTS.items()}
        for component in components.values():
            self.registry.register_on_missing(component)
        return components


class ConfiguredProfileNames:
    """An OpenApiParameter's enum read when the schema is generated, not when the decorator
    runs at import: it follows SECRETS_PROFILES (R22)."""

    def __iter__(self):
        return iter(profiles())

    def __bool__(self):
        return True


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "secrets_app.access.authentication.TokenAuthentication"
    name = "TokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "`Token <key>` or `Bearer <key>`: a person's API token (kzs_…, "
                           "made at POST /api/v1/tokens/ or on the console's Settings page) "
                           "or a service token (kzsvc_…).",
        }


class FreshSessionScheme(SessionScheme):
    """The console's session (cookieAuth), as drf-spectacular describes Django's own."""

    target_class = "secrets_app.access.authentication.FreshSessionAuthentication"


class BasicAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "secrets_app.access.authentication.ThrottledBasicAuthentication"
    name = "BasicAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic",
                "description": "Username and password, on /api/v1/tokens/ only (the sign-in "
                               "limits apply)."}
