"""Deciding a tracked action: the track hot path, its signals and custom data, and the state an action is in."""
