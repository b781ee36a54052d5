"""API list ordering; the filters themselves are shared with the console."""

from rest_framework.filters import OrderingFilter


class StableOrderingFilter(OrderingFilter):
    """The requested order, then name and profile (unique), so pages never overlap."""

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:  # DRF's words name no field
            parameter["description"] = (
                f"Sort by {', '.join(view.ordering_fields)}; a leading - for descending, "
                "commas between several. Ties go by name, then profile.")
        return parameters

    def get_ordering(self, request, queryset, view):
        ordering = list(super().get_ordering(request, queryset, view) or [])
        for tie_breaker in ("name", "profile"):
            if tie_breaker not in ordering and f"-{tie_breaker}" not in ordering:
                ordering.append(tie_breaker)
        return ordering
