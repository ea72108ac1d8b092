"""The ``polybanking`` command."""
