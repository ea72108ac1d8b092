"""The treasurer's summary of money paid per group, config and month: ``summary`` the sums,
``charts`` the SVG bar charts, ``as_pdf`` and ``as_csv`` the downloads."""
