"""Admin registrations of the appointments app."""
