"""The audit log in the API (R12): read-only, newest first, filtered like the console.

Authentication, pagination and filtering come from the DRF defaults in settings. The house
error responses of the schema are added where the viewset is registered (the API package),
so this module stays independent of the secrets app.
"""

from rest_framework import serializers, viewsets
from rest_framework.permissions import BasePermission, IsAuthenticated

from audit_app.filters import AuditFilter
from audit_app.models import AuditLog
from audit_app.permissions import READ_REFUSED, can_read_audit_log


class CanReadAuditLog(BasePermission):
    message = READ_REFUSED

    def has_permission(self, request, view):
        return can_read_audit_log(request.user)


class AuditLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditLog
        fields = [
            "sequence", "timestamp", "user_id", "username", "action", "secret_id",
            "secret_name", "secret_profile", "ip_address", "user_agent", "channel", "allowed",
            "detail", "entry_hash", "prev_hash",
        ]


class AuditLogViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log, newest first (admins only)."""

    serializer_class = AuditLogSerializer
    permission_classes = [IsAuthenticated, CanReadAuditLog]
    filterset_class = AuditFilter
    queryset = AuditLog.objects.order_by("-sequence")
    lookup_field = "sequence"
