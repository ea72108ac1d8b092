"""PostFinance e-payment protocol (PROTOCOL §4, §5): pure code shared by the gateway and the sandbox."""
