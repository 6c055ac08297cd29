"""The dispatcher's exception hierarchy; the API maps each class to one HTTP status."""

from __future__ import annotations


class DispatcherError(Exception):
    """Base of every error the dispatcher reports to a caller."""

    code = "dispatcher_error"

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(DispatcherError):
    """A field of the request is missing, of the wrong type, or not allowed."""

    code = "invalid_input"


class UnknownResource(DispatcherError):
    """No subscription, delivery or event with that GUID."""

    code = "not_found"


class WrongState(DispatcherError):
    """The request is valid but not in the resource's current state (e.g. restart an active one)."""

    code = "conflict"
