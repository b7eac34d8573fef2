"""Admin registrations of the notifications app."""
