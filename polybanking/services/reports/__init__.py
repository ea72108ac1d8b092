"""What the treasurer takes away: exports of transactions (``exports/``), the summary of money
paid (``summary/``), and the periods (local calendar days) and money formats both use."""
