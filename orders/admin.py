"""Admin registrations of the orders app."""

from django.contrib import admin

from orders.models import Product, ProductVariation


class ProductVariationInline(admin.TabularInline):
    model = ProductVariation
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    inlines = [ProductVariationInline]
