"""Tables of the event backbone: the outbox, the consumers' inbox and the dead letters."""
