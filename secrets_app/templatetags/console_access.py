"""What the console shows per row, asked of the request's Access (access/policy.py): the
templates never decide a rule themselves.

    {% load console_access %}
    {% if access|may_read:secret %}…reveal…{% endif %}
    {% if access|may_write:secret.profile %}…edit, delete…{% endif %}
"""

from django import template

register = template.Library()


@register.filter
def may_read(access, secret) -> bool:
    """May decrypt this secret (R18: admins, readers and editors of its profile)."""
    return bool(access) and access.reads(secret.profile, secret.key)


@register.filter
def may_write(access, profile) -> bool:
    """May edit, delete, restore in this profile (R18: admins, editors of it)."""
    return bool(access) and access.writes(profile)
