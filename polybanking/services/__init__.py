"""The gateway's logic; views and tasks are thin and call these."""
