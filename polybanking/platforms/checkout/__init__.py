"""PostFinance Checkout (PROTOCOL §11) through its official SDK, ``postfinancecheckout``.

``platform`` begins, resumes and reads payments (``reading`` turns them into reports);
``operations`` refunds, captures and cancels them; ``states`` is the one table mapping Checkout's
states to the e-payment status codes websites read; ``webhooks`` verifies the signed webhooks.
No hand-written client of the API: every call goes through the SDK.
"""
