"""Audit log filters (R12), shared by the console page and the API."""

from datetime import UTC

import django_filters
from django import forms
from django.db.models import Q
from django_filters.fields import IsoDateTimeField

from audit_app.models import AuditAction, AuditLog, AuditSecretRead, Channel


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time; one that overflows when converted (year 9999 at -01:00) is a clear
    400, not a crash."""

    def clean(self, value):
        try:
            moment = super().clean(value)
            # In UTC: PostgreSQL refuses offsets beyond +-15:59 that ISO 8601 allows (+21:58).
            return None if moment is None else moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError(
                "Enter an ISO 8601 time between the years 1 and 9998, e.g. "
                "2026-01-31T09:00:00Z."
            ) from None


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class AuditFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    user = django_filters.CharFilter(field_name="username", help_text="Username.")
    secret = django_filters.UUIDFilter(
        method="filter_secret",
        help_text="Secret id: the rows about it, and the requests that read it among others.")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    allowed = django_filters.BooleanFilter()
    since = BoundedIsoDateTimeFilter(field_name="timestamp", lookup_expr="gte",
                                     help_text="ISO 8601 time, inclusive.")
    until = BoundedIsoDateTimeFilter(field_name="timestamp", lookup_expr="lt",
                                     help_text="ISO 8601 time, exclusive.")

    class Meta:
        model = AuditLog
        fields = ["action", "user", "secret", "channel", "allowed", "since", "until"]

    def filter_secret(self, queryset, name, value):
        # A credentials request is one row for many secrets (R20): found by any of them.
        also_read = AuditSecretRead.objects.filter(secret_id=value).values("row_id")
        return queryset.filter(Q(secret_id=value) | Q(pk__in=also_read))
