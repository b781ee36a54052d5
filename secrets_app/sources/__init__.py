"""Credential sources (R5), asked in order by `chain.resolve(key, profile)`."""
