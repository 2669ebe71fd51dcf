"""What decides: the action configurations, rules, custom data points and lists admins manage."""
