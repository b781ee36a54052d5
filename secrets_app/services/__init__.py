"""The service layer: every change to secrets and every decrypt goes through here, whichever
way it came in (console, API, commands). secrets: create, update, delete, restore; reveal:
every decrypt path; bulk: the import upsert."""
