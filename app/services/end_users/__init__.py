"""End users and their authenticators, as the server API manages them."""
