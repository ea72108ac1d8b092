"""Exports of transactions (CSV, JSON, XML, Excel), streamed in batches: ``export`` is the entry
point, ``spec`` the checked request, ``rows`` the reading, ``writers`` and ``xlsx`` the formats."""
