"""Puts the request's audit context (IP, user agent, channel) in place for its duration."""

import ipaddress

from django.conf import settings

from audit_app.context import AuditContext, _current
from audit_app.models import Channel
from kozmo_secrets.escaping import printable


def header_text(value: str) -> str:
    """A header as the audit row keeps it: control characters escaped (PostgreSQL cannot
    store a NUL, and a terminal or spreadsheet must not act on one), at most 255 characters."""
    return printable(value, keep_newlines=False)[:255]


def _parse_ip(value: str) -> str | None:
    """The address as text; an IPv4-mapped IPv6 address (what a server listening on [::]
    sees of an IPv4 peer) as the IPv4 address it is, so proxies and networks match it."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def _is_trusted_proxy(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    for proxy in settings.SECRETS_TRUSTED_PROXIES:
        try:
            if address in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(request) -> str | None:
    """REMOTE_ADDR, unless it is a trusted proxy: then the nearest untrusted hop of
    X-Forwarded-For. A client cannot spoof its address through an untrusted peer."""
    ip = _parse_ip(request.META.get("REMOTE_ADDR", ""))
    if ip is None or not settings.SECRETS_TRUSTED_PROXIES:
        return ip
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    while _is_trusted_proxy(ip) and hops:
        hop = _parse_ip(hops.pop())
        if hop is None:
            break
        ip = hop
    return ip


def channel_for(path: str) -> str:
    if path.startswith("/api/"):
        return Channel.API
    if path.startswith("/admin/"):
        return Channel.ADMIN
    return Channel.CONSOLE


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        context = AuditContext(
            channel=channel_for(request.path),
            ip_address=client_ip(request),
            user_agent=header_text(request.META.get("HTTP_USER_AGENT", "")),
            request=request,
        )
        token = _current.set(context)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
