"""A development `.env` with fresh random keys (`make run` writes it when missing).

`python -m kozmo_secrets.dev_env PATH` writes the file itself, created 0600 (it holds the
encryption key, R17.20) and never over an existing one; without PATH it prints the lines.
"""

import os
import secrets
import sys

from cryptography.fernet import Fernet


def lines() -> list[str]:
    return [
        "# Development settings written by `make run`. Never use these keys in production.",
        "DJANGO_DEBUG=true",
        f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}",
        f"SECRETS_ENCRYPTION_KEY={Fernet.generate_key().decode('ascii')}",
    ]


def write(path: str) -> None:
    """Create `path` readable by its owner only; refuse to overwrite an existing file."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("\n".join(lines()) + "\n")


def main() -> None:
    if len(sys.argv) > 1:
        try:
            write(sys.argv[1])
        except FileExistsError:
            sys.exit(f"{sys.argv[1]} exists already: not overwritten.")
    else:
        print("\n".join(lines()))


if __name__ == "__main__":
    main()
