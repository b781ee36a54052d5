"""The service layer: every change to secrets and every decrypt goes through here, whichever
way it came in (console, API, commands). secrets: create, update, delete, restore; reveal:
every decrypt path; bulk: the import upsert and key rotation; rules: the rules that read the
database (name clashes, version numbers, "same value"), used by secrets and bulk alike."""
