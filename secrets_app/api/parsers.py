"""Request parsers that answer 400, never 500, to hostile bodies."""

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from kozmo_secrets.control_characters import NUL, ControlCharacterRefused, check_json, check_pairs


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, plus: nesting deep enough to exhaust Python's stack is a 400, and so
    is a NUL in any string or a control character in a key (R17.8)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        try:
            check_json(data)
        except ControlCharacterRefused as refused:
            raise ValidationError(refused.as_json()) from None
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, plus: a NUL in a text field (not a file) is a 400 (R17.8), as
    the middleware answers for urlencoded forms and the JSON parser for JSON."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        try:
            check_pairs(parsed.data.lists(), "The field", NUL)
        except ControlCharacterRefused as refused:
            raise ValidationError(refused.as_json()) from None
        return parsed


class RawFileParser(parsers.BaseParser):
    """A YAML or .env file sent as the request body (any content type but multipart)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {"raw": stream.read(settings.SECRETS_IMPORT_MAX_BYTES + 1) if stream else b""}
