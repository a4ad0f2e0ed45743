"""Database adapters of the requests service."""
