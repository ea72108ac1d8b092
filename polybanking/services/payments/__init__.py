"""Payments: a website's start, the shopper's forward to the platform, and the one path by which a
platform's report changes a transaction (idempotent, never backwards, one IPN per real change).
The websites' API reads what these wrote."""
