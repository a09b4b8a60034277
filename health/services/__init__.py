"""Every write of the core app: validate, save, audit, mark the persons dirty, enqueue on commit."""
