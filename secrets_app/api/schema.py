"""OpenAPI description of the token authentication (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
