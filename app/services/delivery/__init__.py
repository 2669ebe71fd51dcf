"""Webhooks: the endpoints admins configure, the outbox events are written to, and the worker that delivers them."""
