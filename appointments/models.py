"""Tables of the appointments app."""
