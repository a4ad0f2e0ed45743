"""Gongkai package."""
