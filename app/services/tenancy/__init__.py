"""Tenants: their settings in effect, configuration cache, API keys, and the audit trail of every change."""
