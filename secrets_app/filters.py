"""The secrets list filters (R4.3 to R4.5), one FilterSet for the console and the API so the
two never disagree."""

import django_filters
from django.db.models import Q

from secrets_app.constants import SecretCategory, SecretProfile
from secrets_app.models import Secret


class SecretFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", help_text="Case-insensitive substring of the name or the key."
    )
    category = django_filters.ChoiceFilter(choices=SecretCategory.choices)
    profile = django_filters.ChoiceFilter(choices=SecretProfile.choices)

    class Meta:
        model = Secret
        fields = ["search", "category", "profile"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(key__icontains=value))
