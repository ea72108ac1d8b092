"""The refusal every entry point (API, admin pages, command) shows in its own way."""


class OperationRefused(Exception):
    """An operation that may not be done; nothing was changed. ``http_status`` for the API."""

    def __init__(self, http_status: int, message: str):
        super().__init__(message)
        self.http_status = http_status
        self.message = message
