"""Reactions to other services\x27 events."""
