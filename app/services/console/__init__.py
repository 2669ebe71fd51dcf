"""The console's own use cases: console users and their passkeys, the activity list and its export."""
