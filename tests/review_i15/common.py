"""What the outside reviews of issue 15 share: the API route, a marker value only the
operator's environment holds, and a command runner."""

import io

from django.core.management import call_command
from django.core.management.base import CommandError

SECRETS = "/api/v1/secrets/"
OPERATOR = "operator-only-token-9f8e"


def run(*args):
    """stdout, stderr and the CommandError's text (empty when none) of a command."""
    out, err, error = io.StringIO(), io.StringIO(), ""
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as raised:
        error = str(raised)
    return out.getvalue(), err.getvalue(), error
