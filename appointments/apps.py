from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    """Vehicle-inspection bookings, inspections and certificates."""

    name = "appointments"
    verbose_name = "Appointments"
    default_auto_field = "django.db.models.BigAutoField"
