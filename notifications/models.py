"""Tables of the notifications app."""
