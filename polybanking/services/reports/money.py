"""Showing integer cents as francs, exactly (no float ever holds a sum)."""


def chf(cents: int) -> str:
    """``123456`` → ``1234.56``: for files that programs read (CSV; a million times per export)."""
    if cents < 0:
        return "-" + chf(-cents)
    return f"{cents // 100}.{cents % 100:02d}"


def chf_display(cents: int) -> str:
    """``123456`` → ``1'234.56``: the Swiss way, for people (PDF, admin pages)."""
    sign = "-" if cents < 0 else ""
    francs, rest = divmod(abs(cents), 100)
    return f"{sign}{francs:,}.{rest:02d}".replace(",", "'")
