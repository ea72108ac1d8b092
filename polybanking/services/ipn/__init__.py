"""IPNs, what websites are told: the signed payload, the database as outbox (claim, record),
the retry schedule, one bounded HTTP attempt, the deliverer that ties them, and the operators'
report of what is pending or given up."""
