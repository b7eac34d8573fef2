from typing import Any

from django.core.management.base import BaseCommand

from config.demo import demo_data_load


class Command(BaseCommand):
    help = "Load the demo logins and products (only what is missing)."

    def handle(self, *args: Any, **options: Any) -> None:
        created = demo_data_load()
        if created:
            self.stdout.write(f"demo data: created {', '.join(created)}")
        else:
            self.stdout.write("demo data: already loaded")
