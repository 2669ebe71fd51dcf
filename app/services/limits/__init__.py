"""Limits per client address, counted in the database: failed console sign-ins, invalid API keys."""
