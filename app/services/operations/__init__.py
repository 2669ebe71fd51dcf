"""What operators run: provisioning and the demo, metrics, readiness, retention, erasing a data subject."""
