"""Who may use the admin pages: settings, password hashing, sign-in throttling, the Tequila client.

The Pyramid side (security policy, session, CSRF) is in ``polybanking.security``; this package holds
what it needs and knows nothing of requests.
"""
