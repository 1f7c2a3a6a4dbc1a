"""Delivery: the platform model (services x environments), the config repo, and applying charts to clusters."""
