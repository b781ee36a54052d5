"""Security headers Django 5.2 does not set itself: a Content-Security-Policy without inline
scripts (the console's JavaScript is all in static files), a Permissions-Policy, and
`Cache-Control: no-store` on every answer to a signed-in user or a token, so neither a cache
nor the browser's back-forward cache keeps a revealed value, a new token key, an export, or a
page after logout."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

from secrets_app.keycheck import KeyCheckFailed, WrongEncryptionKey
from secrets_app.shared_cache import CacheUnavailable


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.SECRETS_CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        if must_not_be_stored(request) and not already_no_store(response):
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
        return response


class ServiceUnavailableMiddleware:
    """A 503 that says what is unavailable and why: a limit that cannot be counted because the
    shared cache is down (R17.19), or encryption keys that may not be used (R17.21: they do
    not open what is stored, or the database cannot be asked yet). JSON under /api/, a page in
    the console (also for the admin's sign-in), whose X-Error-Message the htmx toast shows."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (CacheUnavailable, KeyCheckFailed)):
            return None
        problem = str(exception)
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": problem}, status=503)
        else:
            response = render(request, "503.html", {"problem": problem}, status=503)
            if problem.isascii():
                response["X-Error-Message"] = problem  # read by static/js/app.js for htmx
        if not isinstance(exception, WrongEncryptionKey):  # a wrong key needs the operator
            response["Retry-After"] = "30"
        return response


def must_not_be_stored(request) -> bool:
    """R17.4: every answer to a signed-in user or a token (pages, partials, exports, API JSON
    and its errors), whatever its content type. DRF sets the token's user on this request
    after authenticating; a token the API never saw (an unknown /api/ route) still counts."""
    user = getattr(request, "user", None)
    return bool(
        (user is not None and user.is_authenticated)
        or "HTTP_AUTHORIZATION" in request.META
        or request.path.startswith("/api/")
    )


def already_no_store(response) -> bool:
    """A view that said `no-store` itself (decrypt answers, R8.6) keeps its exact header."""
    directives = response.get("Cache-Control", "").lower().split(",")
    return "no-store" in (directive.strip() for directive in directives)
