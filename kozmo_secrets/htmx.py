"""Whole page or one partial: the console's single rule for htmx requests.

Project-level so that audit_app and secrets_app share it without importing each other.
"""

from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_partial(request) -> bool:
    """An htmx request, except a history restore (Back, after htmx's cache ran out), which
    needs the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_page_or_partial(request, template: str, partial: str, context: dict):
    """`template` for a normal request, `template#partial` for an htmx one. Vary on HX-Request
    so that a cache never answers one with the other."""
    name = f"{template}#{partial}" if wants_partial(request) else template
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
