"""Bureaus and catalogue items (主动公开) and their rules."""
