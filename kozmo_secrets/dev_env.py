"""Print a development `.env` with fresh random keys (`make run` writes it when missing)."""

import secrets

from cryptography.fernet import Fernet


def main() -> None:
    print("# Development settings written by `make run`. Never use these keys in production.")
    print("DJANGO_DEBUG=true")
    print(f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}")
    print(f"SECRETS_ENCRYPTION_KEY={Fernet.generate_key().decode('ascii')}")


if __name__ == "__main__":
    main()
