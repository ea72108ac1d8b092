"""What the admin pages stand on: the queries limited to the configs a user may see, config and
user changes (each logged), and the health and metrics figures of monitoring."""
