"""A YAML config file (R5.2, R5.5): profile sections, or flat (= `default`).

Parsed with the import parser (same limits, same value rules, `env_var` templates resolved),
and parsed again only when the file's modification time or size changes.
"""

import logging
import os
import threading

from django.conf import settings

from secrets_app.constants import DEFAULT_PROFILE
from secrets_app.fields import Sealed
from secrets_app.formats.entries import InvalidImport, read_text
from secrets_app.formats.yaml import parse_yaml
from secrets_app.sources.base import Answer, BaseCredentialLoader, profiles_to_try

logger = logging.getLogger(__name__)


class ConfigFileLoader(BaseCredentialLoader):
    source = "config_file"

    def __init__(self, path: str | None = None):
        self._path = path
        self._lock = threading.Lock()
        self._stamp = None
        self._values: dict[tuple[str, str], Sealed] = {}

    @property
    def path(self) -> str:
        return self._path if self._path is not None else settings.SECRETS_CONFIG_FILE

    def _current(self) -> dict[tuple[str, str], Sealed]:
        path = self.path
        if not path:
            return {}
        try:
            stat = os.stat(path)
        except OSError:
            return {}
        stamp = (path, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._values = self._load(path)
                self._stamp = stamp
            return self._values

    @staticmethod
    def _load(path: str) -> dict[tuple[str, str], Sealed]:
        try:
            with open(path, "rb") as handle:
                entries, _, failed = parse_yaml(read_text(handle), None)
        except (OSError, InvalidImport) as error:
            logger.warning("Config file %s cannot be read: %s", path, error)
            return {}
        for problem in failed:
            logger.warning("Config file %s: %s", path, problem)
        return {(entry.key, entry.profile): Sealed.encrypt(entry.value) for entry in entries}

    def lookup(self, key: str, profile: str = DEFAULT_PROFILE) -> Answer | None:
        values = self._current()
        for candidate in profiles_to_try(profile):
            if (key, candidate) in values:
                return Answer(values[(key, candidate)], None, candidate)
        return None

    def get(self, key: str, profile: str = DEFAULT_PROFILE) -> Sealed | None:
        values = self._current()
        for candidate in profiles_to_try(profile):
            if (key, candidate) in values:
                return values[(key, candidate)]
        return None
