"""Filters for the secrets list (R4.3 to R4.5) and the audit log (R12)."""

import django_filters
from django.db.models import Q
from rest_framework.filters import OrderingFilter

from audit_app.models import AuditAction, AuditLog, Channel

from ..constants import SecretCategory, SecretProfile
from ..models import Secret


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


class StableOrderingFilter(OrderingFilter):
    """The requested order, then name and profile (unique), so pages never overlap."""

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        for tie_breaker in ("name", "profile"):
            if tie_breaker not in ordering and f"-{tie_breaker}" not in ordering:
                ordering.append(tie_breaker)
        return ordering


class AuditFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    user = django_filters.CharFilter(field_name="username", help_text="Username.")
    secret = django_filters.UUIDFilter(field_name="secret_id", help_text="Secret id.")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    allowed = django_filters.BooleanFilter()
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte",
                                             help_text="ISO 8601 time, inclusive.")
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt",
                                             help_text="ISO 8601 time, exclusive.")

    class Meta:
        model = AuditLog
        fields = ["action", "user", "secret", "channel", "allowed", "since", "until"]
