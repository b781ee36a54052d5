#!/usr/bin/env python
"""Django's command-line utility for Kozmo Secrets."""

import os
import sys

# Commands that must work before any key is configured (generate_encryption_key makes it).
KEYLESS_COMMANDS = {"generate_encryption_key", "help", "version"}
HELP_FLAGS = {"-h", "--help", "--version"}


def needs_keys(argv: list[str]) -> bool:
    """False for help, the version, and keyless commands: a fresh checkout can ask for usage
    and make its first key. Options after `--` belong to a child program, not to us."""
    if len(argv) < 2 or argv[1] in KEYLESS_COMMANDS or argv[1] in HELP_FLAGS:
        return False
    own_options = argv[2:argv.index("--")] if "--" in argv else argv[2:]
    return not HELP_FLAGS.intersection(own_options)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kozmo_secrets.settings")
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
        from secrets_app import startup

        if needs_keys(sys.argv):
            startup.check_configuration()
            import django

            django.setup()
            startup.check_stored_keys()  # R17.21: the keys open what is stored
        else:
            startup.skip_configuration_check()
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
