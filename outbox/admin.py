"""Admin of the event backbone: outbox rows and the dead-letter review desk."""
