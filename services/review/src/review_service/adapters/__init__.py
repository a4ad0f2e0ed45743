"""The review service's database."""
