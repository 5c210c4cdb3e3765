"""Errors raised by the orders services. Adapters turn them into HTTP answers."""

from __future__ import annotations


class OrderError(Exception):
    """A refused order operation with a stable machine-readable `code`.

    `status` is the HTTP status an adapter should answer with; the services
    themselves never build responses. `fields` maps a field name to its messages.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields or {}
