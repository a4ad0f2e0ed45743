"""Reactions to other services' events."""
