"""Facts about this installation that settings, system checks, `make serve` and /healthz share.

Imported by settings.py, so nothing here reads Django settings at import time.
"""

import hashlib
import os
import stat
from pathlib import Path

# Backends whose counters every worker process (and every host) shares. Any other backend
# (local memory, dummy, files) counts per process or not atomically: the decrypt limit and the
# sign-in throttle would then allow one full budget per worker.
SHARED_CACHE_MARKERS = ("redis", ".memcached.", "django.core.cache.backends.db.databasecache")


def cache_prefix(database: dict) -> str:
    """A short, stable name for the installation, from its database's identity: two
    installations that share one Redis database then never share a cache key (R17.22)."""
    identity = "|".join(
        str(database.get(part) or "") for part in ("ENGINE", "HOST", "PORT", "NAME")
    )
    return "kozmo-" + hashlib.sha256(identity.encode()).hexdigest()[:12]


def cache_scope(cache_settings: dict) -> str:
    """'shared' when the default cache is one store for every process, else 'per-process'."""
    backend = str(cache_settings.get("BACKEND", "")).lower()
    return "shared" if any(marker in backend for marker in SHARED_CACHE_MARKERS) else "per-process"


def create_private_file(path: str | Path) -> None:
    """Create `path` empty with mode 0600 unless it exists, so what is later written into it
    (a SQLite database, and its journal and WAL files, which SQLite gives the database file's
    mode) is never readable by others. An unwritable folder is left for the real writer to
    report."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:  # exists already, or the folder is not writable
        return
    os.close(descriptor)


def readable_by_others(path: str | Path) -> bool:
    """True when the group or other users may read or write the file."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))
