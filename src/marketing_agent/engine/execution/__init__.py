"""Running functions: the dispatcher that claims queue items and calls apps, the runtime that moves runs
through their lifecycle inside store transactions, and the cron scheduler."""
