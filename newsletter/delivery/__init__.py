"""Delivering digests: SMTP replies and their meaning, rate limiting, a pool of connections."""
