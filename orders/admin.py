"""Admin registrations of the orders app.

Managers manage products here as well as through the API. Saves and deletes go through the
services, so the admin writes the same rows and the same events as the API.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.validators import MaxValueValidator
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from accounts.permissions import ManagersOnlyAdminMixin
from orders.models import Product, ProductVariation
from orders.services import (
    PRICE_MAX,
    STOCK_MAX,
    VariationSpec,
    product_create,
    product_delete,
    product_update,
    variation_add,
    variation_price_change,
)


class ProductVariationForm(forms.ModelForm):
    """A new variation sets everything; an existing one changes its price only (stock moves
    with inventory, not here)."""

    class Meta:
        model = ProductVariation
        fields = ["name", "price", "stock", "low_stock_threshold"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["price"].validators.append(MaxValueValidator(PRICE_MAX))
        for name in ("stock", "low_stock_threshold"):
            self.fields[name].validators.append(MaxValueValidator(STOCK_MAX))
        if not self.instance._state.adding:
            for name in ("name", "stock", "low_stock_threshold"):
                self.fields[name].disabled = True


class ProductVariationInline(ManagersOnlyAdminMixin, admin.TabularInline):
    model = ProductVariation
    form = ProductVariationForm
    extra = 0
    can_delete = False  # withdraw the product instead: orders refer to its variations

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(ManagersOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    inlines = [ProductVariationInline]

    def get_fields(self, request: HttpRequest, obj: Product | None = None) -> list[str]:
        # A new product starts active (as from the API); withdrawing it is a change.
        return ["name", "description", "is_active"] if obj else ["name", "description"]

    def save_model(self, request: HttpRequest, obj: Product, form: ModelForm, change: bool) -> None:
        # A new product is created with its variations, in one event, by save_related.
        if change:
            product_update(
                product=obj,
                name=obj.name,
                description=obj.description,
                is_active=obj.is_active,
                by=request.user,
            )

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list[BaseInlineFormSet], change: bool
    ) -> None:
        if change:
            super().save_related(request, form, formsets, change)
            return
        product = form.instance
        specs = [
            _variation_spec(variation)
            for formset in formsets
            for variation in formset.save(commit=False)
        ]
        created = product_create(
            name=product.name, description=product.description, variations=specs, by=request.user
        )
        # The admin logs and redirects to the instance it built: give it the saved identity.
        for field in Product._meta.concrete_fields:
            setattr(product, field.attname, getattr(created, field.attname))
        product._state.adding = False
        product._state.db = created._state.db

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        # save(commit=False) answers the new and changed rows unsaved (and records them for
        # the admin's change message); the services save them.
        for variation in formset.save(commit=False):
            if variation._state.adding:
                spec = _variation_spec(variation)
                variation_add(product=form.instance, spec=spec, by=request.user)
            else:
                variation_price_change(
                    variation=variation, new_price=variation.price, by=request.user
                )

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        product_delete(product=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset.order_by("pk"):
            product_delete(product=product, by=request.user)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        # A soft delete: only the products are withdrawn; variations and orders stay.
        products = list(objs)
        return (
            [str(product) for product in products],
            {str(Product._meta.verbose_name_plural): len(products)},
            set(),
            [],
        )


def _variation_spec(variation: ProductVariation) -> VariationSpec:
    return VariationSpec(
        name=variation.name,
        price=variation.price,
        stock=variation.stock,
        low_stock_threshold=variation.low_stock_threshold,
    )
