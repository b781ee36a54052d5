"""Refusal pages that say the real reason (R17.18): a CSRF failure is an expired form or
blocked cookies, not a missing privilege. JSON under /api/; the console's 403 page and its
htmx toast (the X-Error-Message header) show the message of the refusal."""

import uuid

from django.http import JsonResponse
from django.shortcuts import render

from secrets_app.access.permissions import ADMIN_REQUIRED
from secrets_app.access.policy import record_refusal
from secrets_app.models import Secret

CSRF_FAILED = "Your form expired or cookies are blocked: reload the page and try again."
NOT_ALLOWED = "You are not allowed to do this."


def refusal(request, message: str, heading: str, admins_only: bool = False):
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=403)
    else:
        response = render(request, "403.html", {
            "heading": heading, "message": message,
            "admin_required": message == ADMIN_REQUIRED, "admins_only": admins_only,
        }, status=403)
    if message.isascii():
        response["X-Error-Message"] = message  # read by static/js/app.js for htmx requests
    return response


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW. Django's `reason` is for developers; this is for users."""
    return refusal(request, CSRF_FAILED, "Form expired")


def permission_denied(request, exception=None):
    """handler403: the page says the refusal's own message. A refusal not audited where it
    was raised (a view's own check: the console's admin pages, the audit log) is audited
    here, as the API's exception handler does for the API (R18: every refusal leaves a
    DENIED row). Not for anonymous requests: they are sent to sign in, not refused."""
    if not getattr(exception, "audited", False) and request.user.is_authenticated:
        record_refusal(request, request.user, "not allowed for this caller",
                       **_secret_target(request))
    message = str(exception or "") or NOT_ALLOWED
    heading = message if message == ADMIN_REQUIRED else "Not allowed"
    # A page for admins only (Settings → Access, → Service tokens): no role would open it.
    return refusal(request, message, heading,
                   admins_only=getattr(exception, "admins_only", False))


def _secret_target(request) -> dict:
    """The secret a refused console route names, for its audit row."""
    match = getattr(request, "resolver_match", None)
    pk = match.kwargs.get("pk") if match else None
    if not isinstance(pk, uuid.UUID):
        return {}
    secret = Secret.objects.filter(pk=pk).only("name", "profile").first()
    if secret is None:
        return {}
    return {"secret_id": secret.pk, "secret_name": secret.name,
            "secret_profile": secret.profile}
