"""View classes; thin: they read the request, call a service, and shape the answer."""
