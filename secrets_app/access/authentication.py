"""`Authorization: Token <key>` (or Bearer) with hashed, expiring, revocable keys (R14, R19);
the console's session on the API, under the re-authentication rule (R21.1)."""

from django.conf import settings
from rest_framework import authentication, exceptions

from audit_app.context import current as current_context
from secrets_app.access.policy import access_of
from secrets_app.access.reauth import NO_ASKING_GRACE_SECONDS, reaches_protected
from secrets_app.access.service_tokens import (
    REFUSED_GROUP,
    ServicePrincipal,
    ServiceTokenThrottled,
    WrongNetwork,
    authenticate_service_key,
    charge_request,
    check_network,
    first_refusal_in_window,
    is_service_key,
)
from secrets_app.access.tokens import authenticate_key, note_use

NOT_AUTHENTICATED = "Not authenticated"


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` or `Bearer <key>`: a person's token (`kzs_…`) acts as its
    user; a service token (`kzsvc_…`, R19) acts as a ServicePrincipal, from its allowed
    networks only and within its own request budget."""

    keyword = "Token"
    keywords = (b"token", b"bearer")

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED)
        try:
            key = parts[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED) from None
        if is_service_key(key):
            return self._service(key)
        token = authenticate_key(key)
        if token is None:  # unknown, expired, revoked, or its user deactivated
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED)
        return token.user, token

    @staticmethod
    def _service(key: str):
        token = authenticate_service_key(key)
        if token is None:  # unknown, expired or revoked
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED)
        principal = ServicePrincipal(token)
        # The refusals below are audited by the exception handler, as this principal.
        try:
            check_network(token, current_context().ip_address)
        except WrongNetwork:
            try:
                charge_request(token, group=REFUSED_GROUP)
            except ServiceTokenThrottled as error:  # a flood: refused, no longer audited
                raise exceptions.Throttled(wait=error.retry_after) from None
            raise WrongNetworkRefused(principal) from None
        try:
            charge_request(token)
        except ServiceTokenThrottled as error:
            refusal = exceptions.Throttled(wait=error.retry_after)
            if first_refusal_in_window(token, error.retry_after):
                refusal.principal = principal  # audited once per spent budget, not per request
            raise refusal from None
        note_use(token)
        return principal, token

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to requests without credentials.
        return f'{self.keyword} realm="api"'


class WrongNetworkRefused(exceptions.PermissionDenied):
    """403: a service token used from outside its networks. Carries the principal, since
    DRF has not set request.user when an authenticator raises."""

    default_detail = "This service token may not be used from this address."

    def __init__(self, principal):
        super().__init__()
        self.principal = principal


class ThrottledBasicAuthentication(authentication.BasicAuthentication):
    """Username and password (the tokens endpoint only). DRF calls authenticate(), so the
    sign-in throttle of the authentication backend applies (secrets_app/access/signin.py);
    its refusal, LoginThrottled, is answered 429 with Retry-After by the exception handler."""


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class FreshSessionAuthentication(authentication.SessionAuthentication):
    """The console's session cookie on the API (the Swagger UI, a page's script): the same
    re-authentication rule as the console (R21.1). An unsafe request (decrypt, change,
    delete, restore, import, mint a token) from a stale session whose rights reach a
    protected profile is refused with 403 and says what to do; reading lists stays. API
    tokens and HTTP Basic are not sessions: untouched."""

    def authenticate(self, request):
        result = super().authenticate(request)  # the CSRF check first, as before
        if (result is not None and request.method not in SAFE_METHODS
                and reaches_protected(request, access_of(result[0]),
                                      at_least=NO_ASKING_GRACE_SECONDS)):
            raise ReauthRequired(result[0])
        return result


class ReauthRequired(exceptions.PermissionDenied):
    """403: a stale console session asked the API for an unsafe act. Carries the user (DRF
    has not set request.user when an authenticator raises), for the audit row."""

    def __init__(self, user):
        super().__init__(
            f"This browser session's password was entered more than "
            f"{settings.SECRETS_REAUTH_SECONDS} s ago: enter it again in the console or sign "
            "in again, or use an API token.")
        self.user = user
