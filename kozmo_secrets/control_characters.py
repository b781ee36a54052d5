"""R17.8: text with a NUL or another control character where none makes sense is refused with
a 400 and a message before it reaches a form, a filter or the database (PostgreSQL cannot
store NUL in text and answered 500).

One rule, every way in: the query string (search, filters, paging, import and profile
parameters of the console, the API and the admin) may hold no control character at all;
form fields and JSON bodies may hold no NUL (multi-line text such as descriptions
and values keeps its line breaks and tabs), and JSON object keys no control character."""

import re

from django.http import HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string

from kozmo_secrets.escaping import printable

# C0 controls, DEL and C1 controls (Unicode category Cc).
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f]")
NUL = re.compile("\x00")
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MULTIPART_CONTENT_TYPE = "multipart/form-data"


class ControlCharacterRefused(ValueError):
    def __init__(self, where: str, field: str, character: str):
        self.field = field
        super().__init__(
            f"{where} '{printable(field, keep_newlines=False)[:100]}' contains a control character "
            f"(U+{ord(character):04X}); remove it and try again."
        )

    def as_json(self) -> dict:
        """{"detail": message, field: [message]}: the API names the field, as DRF does."""
        body = {"detail": str(self)}
        if not CONTROL_CHARACTER.search(self.field):
            body[self.field] = [str(self)]
        return body


def check_pairs(pairs, where: str, forbidden: re.Pattern) -> None:
    """Raise ControlCharacterRefused for the first name or value holding a forbidden one."""
    for name, values in pairs:
        for text in (name, *values):
            found = forbidden.search(text)
            if found:
                raise ControlCharacterRefused(where, name, found.group())


def check_json(data, field: str = "body") -> None:
    """No NUL in any string of a parsed JSON document, no control character in its keys.
    The field named is the top-level one the client sent."""
    if isinstance(data, dict):
        for key, value in data.items():
            found = CONTROL_CHARACTER.search(key)
            if found:
                raise ControlCharacterRefused("The JSON key", key, found.group())
            check_json(value, key if field == "body" else field)
    elif isinstance(data, list):
        for item in data:
            check_json(item, field)
    elif isinstance(data, str):
        found = NUL.search(data)
        if found:
            raise ControlCharacterRefused("The field", field, found.group())


# The sign-in forms' credentials are left to the sign-in backend, which refuses a NUL like a
# wrong password and counts and audits it (R17.6, R17.8).
SIGN_IN_FIELDS = frozenset({"username", "password"})


def check_request(request) -> None:
    check_pairs(request.GET.lists(), "The query parameter", CONTROL_CHARACTER)
    if request.method == "POST" and _form_fields_parsed_anyway(request):
        fields = ((name, values) for name, values in request.POST.lists()
                  if name not in SIGN_IN_FIELDS)
        check_pairs(fields, "The field", NUL)


def _form_fields_parsed_anyway(request) -> bool:
    """Urlencoded forms; multipart ones outside the API, where CSRF and the views parse them
    in any case (the API's uploads are left to its parsers and their size limits)."""
    if request.content_type == FORM_CONTENT_TYPE:
        return True
    return request.content_type == MULTIPART_CONTENT_TYPE and not request.path.startswith(
        "/api/")


class ControlCharacterMiddleware:
    """Answers 400 (JSON under /api/, the 400 page elsewhere) before any view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            check_request(request)
        except ControlCharacterRefused as refused:
            return bad_request(request, refused)
        return self.get_response(request)


def bad_request(request, refused: ControlCharacterRefused):
    if request.path.startswith("/api/"):
        response = JsonResponse(refused.as_json(), status=400)
    else:
        response = HttpResponseBadRequest(
            render_to_string("400.html", {"message": str(refused)}, request))
    if str(refused).isascii():
        response["X-Error-Message"] = str(refused)  # the console's htmx toast shows it
    return response
