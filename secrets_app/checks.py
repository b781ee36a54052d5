"""System checks about stored data (registered by secrets_app's ready()).

A profile taken out of SECRETS_PROFILES keeps its secrets (R22): they stay listed and
exportable, but nothing new is created or imported there. `manage.py check` (and every
command that runs checks) names such profiles, so the change is not silent.
"""

from django.core.checks import Warning, register
from django.db import DatabaseError, connection
from django.db.models import Count

from secrets_app.constants import profiles


def unconfigured_profile_counts() -> dict[str, int]:
    """{profile: number of secrets} for profiles that hold secrets but are not configured.
    Empty when the database is unreachable or not migrated yet (a check must not fail
    `check --deploy` on a machine without the database)."""
    from secrets_app.models import Secret

    try:
        if Secret._meta.db_table not in connection.introspection.table_names():
            return {}
        return dict(
            Secret.objects.exclude(profile__in=profiles()).order_by()
            .values_list("profile").annotate(count=Count("id"))
        )
    except DatabaseError:
        return {}
    except Exception:  # database access refused (a test without it): nothing to read
        return {}


@register()
def unconfigured_profiles_check(app_configs=None, **kwargs):
    counts = unconfigured_profile_counts()
    if not counts:
        return []
    held = ", ".join(f"{name} ({count} secret{'s' if count != 1 else ''})"
                     for name, count in sorted(counts.items()))
    return [Warning(
        f"Profiles that hold secrets are not in SECRETS_PROFILES: {held}. Their secrets stay "
        "listed and exportable (export_secrets --profile NAME), but nothing can be created "
        "or imported there. Add them back to SECRETS_PROFILES (now "
        f"{', '.join(profiles())}), or move their secrets (edit their profile) or delete "
        "them.",
        # No hint=: Django prints it after a tab, which the commands' escaped output shows
        # as a literal \t.
        id="kozmo.W002",
    )]
