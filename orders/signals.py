"""Signals sent inside an order's transaction, for the apps that build on orders (orders imports none of them)."""

from django.dispatch import Signal

# Sent by order_refund with `order` (locked) and `actor`, before stock is returned. A receiver that stops work
# on the order returns the ids of warehouses whose goods already left, so their stock is not put back.
order_refunded = Signal()
