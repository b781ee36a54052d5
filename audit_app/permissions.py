"""Who may read the audit log (R12): active holders of `audit_app.view_auditlog`, Django's
default view permission of AuditLog. A migration gives it to the `Secrets administrators`
group, and superusers hold every permission, so admins read the log as before; it can also be
given to an auditor who is not an admin. The console and the API both ask this one helper."""

VIEW_AUDIT_LOG = "audit_app.view_auditlog"
# The refusal the console and the API have always answered (clients may match on it).
READ_REFUSED = "Admin privileges required"


def can_read_audit_log(user) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.has_perm(VIEW_AUDIT_LOG)
