"""`Authorization: Token <key>` with hashed, expiring, revocable keys (R14)."""

from rest_framework import authentication, exceptions

from secrets_app.access.tokens import authenticate_key

NOT_AUTHENTICATED = "Not authenticated"


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED)
        try:
            key = parts[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED) from None
        token = authenticate_key(key)
        if token is None:  # unknown, expired, revoked, or its user deactivated
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED)
        return token.user, token

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to requests without credentials.
        return f'{self.keyword} realm="api"'


class ThrottledBasicAuthentication(authentication.BasicAuthentication):
    """Username and password (the tokens endpoint only). DRF calls authenticate(), so the
    sign-in throttle of the authentication backend applies (secrets_app/access/signin.py);
    its refusal, LoginThrottled, is answered 429 with Retry-After by the exception handler."""
