"""Credential sources (R5), asked in order by `resolver.resolve(key, profile)`."""
