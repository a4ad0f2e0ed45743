"""Auditor tools: read the log and check it (verify)."""
