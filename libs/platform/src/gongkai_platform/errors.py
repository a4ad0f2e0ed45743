"""Errors domain code raises; imports nothing but the standard library."""


class DomainError(Exception):
    """A command refused by a rule; HTTP answers 422 naming the field and the reason."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TransitionError(Exception):
    """A command impossible in the aggregate's current state; HTTP answers 409 with the reason."""


class NotFoundError(Exception):
    """An unknown id; HTTP answers 404."""


class ForbiddenError(Exception):
    """The caller is known but may not do this; the message says why (HTTP 403)."""
