"""The secrets list filters (R4.3 to R4.5), one FilterSet for the console and the API so the
two never disagree."""

import django_filters
from django.db.models import Q
from django.utils.choices import BaseChoiceIterator
from django_filters.fields import ChoiceField

from secrets_app.constants import SecretCategory, profile_choices, profiles
from secrets_app.models import Secret


class ConfiguredProfiles(BaseChoiceIterator):
    """The configured profiles as choices, read each time they are iterated, so the form, the
    console's menu and the API schema's enum follow SECRETS_PROFILES (R22)."""

    def __iter__(self):
        yield from profile_choices()


def stored_unconfigured_profiles() -> list[str]:
    """Profiles that hold secrets but are no longer in SECRETS_PROFILES (R22)."""
    return sorted(
        Secret.objects.exclude(profile__in=profiles())
        .order_by().values_list("profile", flat=True).distinct()
    )


def profile_menu() -> list[tuple[str, str]]:
    """The console's profile menu: (value, label), the unconfigured ones labelled so."""
    return [*profile_choices(), *((name, f"{name} (not in SECRETS_PROFILES)")
                                  for name in stored_unconfigured_profiles())]


class ProfileChoiceField(ChoiceField):
    def valid_value(self, value):
        # A profile taken out of the setting still filters its secrets (R22).
        return super().valid_value(value) or Secret.objects.filter(profile=value).exists()


class ProfileFilter(django_filters.ChoiceFilter):
    field_class = ProfileChoiceField


class SecretFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", help_text="Case-insensitive substring of the name or the key."
    )
    category = django_filters.ChoiceFilter(choices=SecretCategory.choices)
    profile = ProfileFilter(choices=ConfiguredProfiles())

    class Meta:
        model = Secret
        fields = ["search", "category", "profile"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(key__icontains=value))
