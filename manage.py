#!/usr/bin/env python
"""Django's command-line utility for Kozmo Secrets."""

import os
import sys


def _is_help(arguments: list[str]) -> bool:
    """`manage.py`, `help`, `--help`, `--version`: nothing to check the stored data for."""
    return not arguments or arguments[0] in ("help", "--help", "-h", "--version", "version") \
        or "--help" in arguments or "-h" in arguments


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kozmo_secrets.settings")
    if sys.argv[1:2] == ["generate_encryption_key"]:
        # The one command that must work before any key is configured: it makes the key.
        from secrets_app.crypto import generate_key

        print(generate_key())
        return

    import getpass

    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from audit_app.context import set_command_line

    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = "unknown"
    set_command_line(sys.argv[1] if len(sys.argv) > 1 else "", os_user)

    try:
        from secrets_app.startup import check_configuration

        check_configuration()
        if not _is_help(sys.argv[1:]):
            import django

            from secrets_app.startup import check_stored_keys

            django.setup()
            check_stored_keys()
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
