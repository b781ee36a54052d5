"""OpenAPI description of the token authentication (drf-spectacular extension), and the
profile enum that follows the setting."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from secrets_app.constants import profiles


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
            "description": "`Token <key>`: create keys at POST /api/v1/tokens or on the "
                           "console's Settings page.",
        }


class BasicAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "secrets_app.access.authentication.ThrottledBasicAuthentication"
    name = "BasicAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic",
                "description": "Username and password, on /api/v1/tokens only (throttled)."}
