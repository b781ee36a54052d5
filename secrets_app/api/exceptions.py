"""Every API error as JSON `{"detail": ...}` with the status and words SPEC R8 lists."""

import uuid

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from kozmo_secrets.errors import CSRF_FAILED
from secrets_app.access import policy
from secrets_app.access.authentication import (
    NOT_AUTHENTICATED,
    ReauthRequired,
    WrongNetworkRefused,
)
from secrets_app.access.permissions import ADMIN_REQUIRED
from secrets_app.access.signin import LoginThrottled
from secrets_app.formats.entries import InvalidImport
from secrets_app.keycheck import KeyCheckFailed, WrongEncryptionKey
from secrets_app.models import Secret
from secrets_app.services.bulk import ImportConflict
from secrets_app.services.reveal import RATE_LIMITED, DecryptFailed, RateLimited
from secrets_app.services.secrets import VersionNotFound
from secrets_app.shared_cache import CacheUnavailable
from secrets_app.validation import DUPLICATE_NAME

SECRET_NOT_FOUND = "Secret not found"  # noqa: S105 - a message, not a password


def _json(detail, code: int, **headers) -> Response:
    body = detail if isinstance(detail, dict) else {"detail": detail}
    return Response(body, status=code, headers=headers or None)


def record_refusal(request, user, reason: str) -> None:
    """Audit a refusal made before the service ran; a refused secret's route names it."""
    target = {}
    pk = (getattr(request, "parser_context", None) or {}).get("kwargs", {}).get("pk")
    secret = Secret.objects.filter(pk=pk).first() if is_uuid(pk) else None
    if secret is not None:
        target = {"secret_id": secret.pk, "secret_name": secret.name,
                  "secret_profile": secret.profile}
    policy.record_refusal(request, user, reason, **target)


def is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return value is not None


def api_exception_handler(exc, context):
    if isinstance(exc, exceptions.Throttled):
        # A service token past its own budget (R19): refused before the view, audited here;
        # past the budget of refusals from a wrong address, no longer audited (no principal).
        if hasattr(exc, "principal"):
            record_refusal(context["request"], exc.principal, "service token rate limited")
        return _json(RATE_LIMITED, status.HTTP_429_TOO_MANY_REQUESTS,
                     **{"Retry-After": str(int(exc.wait or 1))})
    if isinstance(exc, WrongNetworkRefused):
        record_refusal(context["request"], exc.principal, "outside the allowed networks")
        return _json(str(exc.detail), status.HTTP_403_FORBIDDEN)
    if isinstance(exc, ReauthRequired):  # a stale console session (R21.1): say what to do
        record_refusal(context["request"], exc.user, "re-authentication required")
        return _json(str(exc.detail), status.HTTP_403_FORBIDDEN)
    if isinstance(exc, RateLimited):
        return _json(str(exc), status.HTTP_429_TOO_MANY_REQUESTS,
                     **{"Retry-After": str(exc.retry_after)})
    if isinstance(exc, LoginThrottled):  # before ValidationError: it is one, for the forms
        return _json(exc.message, status.HTTP_429_TOO_MANY_REQUESTS,
                     **{"Retry-After": str(exc.retry_after)})
    if isinstance(exc, CacheUnavailable):
        return _json(str(exc), status.HTTP_503_SERVICE_UNAVAILABLE, **{"Retry-After": "30"})
    if isinstance(exc, KeyCheckFailed):  # R17.21: the keys may not be used (now)
        retry = {} if isinstance(exc, WrongEncryptionKey) else {"Retry-After": "30"}
        return _json(str(exc), status.HTTP_503_SERVICE_UNAVAILABLE, **retry)
    if isinstance(exc, DecryptFailed):
        return _json(str(exc), status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF"):
        # DRF's session authentication refused the CSRF token: say so, not "admin" (R17.18).
        return _json(CSRF_FAILED, status.HTTP_403_FORBIDDEN)
    if isinstance(exc, (PermissionDenied, exceptions.PermissionDenied)):
        if not getattr(exc, "audited", False):  # refused by a permission class, not a service
            request = context["request"]
            # A permission class's `code` says why (see api/permissions.py).
            code = getattr(getattr(exc, "detail", None), "code", None)
            reason = code if code not in (None, "permission_denied") else (
                "not allowed for this caller")
            record_refusal(request, request.user, reason)
        refused = getattr(exc, "refused", None)  # what of the caller's question was refused
        return _json({"detail": ADMIN_REQUIRED, "refused": refused} if refused
                     else ADMIN_REQUIRED, status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        if errors.get("name") == [DUPLICATE_NAME]:
            errors = {"detail": DUPLICATE_NAME, **errors}
        return _json(errors, status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, InvalidImport):
        return _json(str(exc), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ImportConflict):
        return _json(str(exc), status.HTTP_409_CONFLICT)
    if isinstance(exc, VersionNotFound):
        return _json(str(exc), status.HTTP_404_NOT_FOUND)
    if isinstance(exc, Secret.DoesNotExist):
        return _json(SECRET_NOT_FOUND, status.HTTP_404_NOT_FOUND)
    if isinstance(exc, Http404):
        return _json("Not found.", status.HTTP_404_NOT_FOUND)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        exc.detail = exceptions.ErrorDetail(NOT_AUTHENTICATED, code="not_authenticated")
    return exception_handler(exc, context)


def api_not_found(request, exception=None):
    """Unknown routes under /api/ answer JSON, like the rest of the API."""
    return JsonResponse({"detail": "Not found."}, status=404)


def api_server_error(request):
    return JsonResponse({"detail": "Internal server error."}, status=500)
