"""Database adapters of the catalogue service."""
