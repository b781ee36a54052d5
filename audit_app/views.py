"""The audit log in the console (R12): filter, page, export (CSV, JSON lines), verify.

Who may read the log is the permission `audit_app.view_auditlog` (see permissions.py), the
same rule as the API's.
"""

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from audit_app.filters import AuditFilter
from audit_app.log import verify_chain
from audit_app.models import AuditLog
from audit_app.permissions import READ_REFUSED, can_read_audit_log
from audit_app.spreadsheet import csv_writer
from kozmo_secrets.htmx import render_page_or_partial

EXPORT_FIELDS = [
    "sequence", "timestamp", "username", "user_id", "action", "allowed", "secret_id",
    "secret_name", "secret_profile", "channel", "ip_address", "user_agent", "detail",
    "prev_hash", "entry_hash",
]


def _require_access(request) -> None:
    if not can_read_audit_log(request.user):
        raise PermissionDenied(READ_REFUSED)


def _filtered(request):
    return AuditFilter(request.GET, queryset=AuditLog.objects.order_by("-sequence"))


@login_required
@require_GET
def audit_log(request):
    _require_access(request)
    filters = _filtered(request)
    rows = filters.qs if filters.is_valid() else AuditLog.objects.none()
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "filters": filters, "query": query.urlencode()}
    return render_page_or_partial(request, "audit/log.html", "rows", context)


def _row(entry: AuditLog) -> dict:
    row = {name: getattr(entry, name) for name in EXPORT_FIELDS}
    row["timestamp"] = entry.timestamp.isoformat()
    row["secret_id"] = str(entry.secret_id) if entry.secret_id else ""
    return row


class _Echo:
    def write(self, value):
        return value


@login_required
@require_GET
def audit_export(request):
    """The filtered log as CSV or JSON lines, streamed (any size, flat memory)."""
    _require_access(request)
    filters = _filtered(request)
    rows = (filters.qs if filters.is_valid() else AuditLog.objects.none()).iterator(2000)
    if request.GET.get("format") == "jsonl":
        lines = (json.dumps(_row(entry), default=str) + "\n" for entry in rows)
        response = StreamingHttpResponse(lines, content_type="application/x-ndjson")
        name = "audit-log.jsonl"
    else:
        writer = csv_writer(_Echo())  # formulas from user text are written as text

        def csv_lines():
            yield writer.writerow(EXPORT_FIELDS)
            for entry in rows:
                row = _row(entry)
                row["detail"] = json.dumps(row["detail"], sort_keys=True)
                yield writer.writerow([row[name] for name in EXPORT_FIELDS])

        response = StreamingHttpResponse(csv_lines(), content_type="text/csv")
        name = "audit-log.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def audit_verify(request):
    _require_access(request)
    return render(request, "audit/log.html#verify", {"report": verify_chain()})
