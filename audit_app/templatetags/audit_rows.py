"""How an audit row reads in the console: its detail as "name: value" lines and, for a
request a service token made, the token as who did it. The stored row is never changed.

    {% load audit_rows %}
    {% for name, value in entry.detail|detail_lines %}…{% endfor %}
    {% with token=entry|service_token_actor %}…{% endwith %}
"""

from django import template

from audit_app.models import AuditAction

register = template.Library()

# Rows about a service token (made, revoked by a person) name it in their detail too: there
# the token is what was acted on, not who acted.
ABOUT_A_SERVICE_TOKEN = {AuditAction.SERVICE_TOKEN_CREATE, AuditAction.SERVICE_TOKEN_REVOKE}


def _text(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):  # inside a list: one item, its fields side by side
        return " ".join(f"{name}={_text(item)}" for name, item in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value) or "none"
    return str(value)


def _flatten(detail: dict, prefix: str = ""):
    for name, value in detail.items():
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", _text(value)


@register.filter
def detail_lines(detail) -> list[tuple[str, str]]:
    """A row's detail as (name, value) pairs: nested mappings as "a.b", lists joined with
    ", ". Anything else than a mapping (an old or odd row) is one line as it is."""
    if isinstance(detail, dict):
        return list(_flatten(detail))
    if detail in (None, "", []):
        return []
    return [("detail", _text(detail))]


@register.filter
def service_token_actor(entry) -> str:
    """The name of the service token that made this request, or "" when a person did (the
    row's username is then the person; for a token it is the token's creator)."""
    detail = entry.detail if isinstance(entry.detail, dict) else {}
    name = detail.get("service_token")
    if not name or entry.action in ABOUT_A_SERVICE_TOKEN:
        return ""
    return str(name)
