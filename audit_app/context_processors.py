from audit_app.permissions import can_read_audit_log


def audit(request):
    """Whether the console shows the audit log's link: the same rule as the page itself."""
    return {"can_read_audit_log": can_read_audit_log(getattr(request, "user", None))}
