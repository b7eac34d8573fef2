from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class OutboxConfig(AppConfig):
    """The event backbone. Domain apps depend on it; it depends on none of them."""

    name = "outbox"
    verbose_name = "Event backbone"

    def ready(self) -> None:
        # Each app declares its topics and event types in events.py, then the handlers of
        # its consumer groups in handlers.py (which refer to the types).
        autodiscover_modules("events")
        autodiscover_modules("handlers")
