"""The database session store, refusing session keys Django never issues (R17.8): a cookie
such as `sessionid="abcdefghij\\000"` reached PostgreSQL with a NUL and answered 500.
A refused key reads as no session at all (signed out), as an unknown key does."""

import re

from django.contrib.sessions.backends import db

# Django issues 32 characters of [a-z0-9]; the length bounds leave room for other stores.
SESSION_KEY = re.compile(r"[a-z0-9]{8,64}")


class SessionStore(db.SessionStore):
    def _validate_session_key(self, key):
        return bool(key) and SESSION_KEY.fullmatch(key) is not None
