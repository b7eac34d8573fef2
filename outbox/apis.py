"""The Event Service HTTP API (publish, publish-batch, event status)."""
