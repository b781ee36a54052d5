"""System checks about stored data and profiles (registered by secrets_app's ready()).

A profile taken out of SECRETS_PROFILES keeps its secrets (R22): they stay listed and
exportable, but nothing new is created or imported there. `manage.py check` (and every
command that runs checks) names such profiles, so the change is not silent (kozmo.W002).
Nor is a site where no profile asks for the password again (R21.1, kozmo.W003).
"""

from django.core.checks import Warning, register
from django.db import DatabaseError, connection
from django.db.models import Count

from secrets_app.access.reauth import DEFAULT_REAUTH_PROFILES, protected_profiles
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


@register()
def no_protected_profile_check(app_configs=None, **kwargs):
    """A site whose production profile has another name (R22 invites dev, prod) protects
    nothing by default: say so, and how to choose. An empty SECRETS_REAUTH_PROFILES is a
    choice made (and documented), not warned about: a warning could not be silenced from
    the environment."""
    from django.conf import settings

    if getattr(settings, "SECRETS_REAUTH_PROFILES", None) is not None:
        return []
    try:
        if protected_profiles():
            return []
    except Exception:  # a wrong name: the start-up check (startup.py) stops with its message
        return []
    return [Warning(
        "No profile asks for the password again (re-authentication, R21.1): "
        f"SECRETS_REAUTH_PROFILES is unset and there is no {DEFAULT_REAUTH_PROFILES!r} "
        "profile, so a console left open reveals, changes and deletes values unasked. Name "
        "your production profiles, e.g. SECRETS_REAUTH_PROFILES=prod (names from "
        f"SECRETS_PROFILES, now {', '.join(profiles())}), or set it empty to ask for none.",
        id="kozmo.W003",
    )]
