"""The manual-review queue: cases, claims, notes, decisions and review deadlines (SLA)."""
