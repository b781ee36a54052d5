"""Reading and writing secret files (YAML, dotenv). Pure text in, entries out: nothing here
touches the database (an import-linter contract holds it)."""
