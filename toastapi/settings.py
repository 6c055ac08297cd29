"""Settings of the fallback APIs (``[toast_api]``): which scopes the API client holds, the limits."""

from __future__ import annotations

from dataclasses import dataclass

# Every scope the served APIs check (Toast's names). A client without guest.pi:read sees no
# Check.customer; without delivery_info.address:read, deliveryInfo is null (Toast's rules).
ALL_SCOPES: tuple[str, ...] = (
    "orders:read", "guest.pi:read", "delivery_info.address:read", "menus:read",
    "restaurants:read", "stock:read", "config:read",
)


@dataclass(frozen=True)
class ToastApiSettings:
    # Serve Toast's own API paths (/orders/v2/..., /partners/v1/...) on the same server.
    enabled: bool = True
    # The scopes the API client's tokens carry; a route needing another answers 403.
    scopes: tuple[str, ...] = ALL_SCOPES
    # ordersBulk requests per restaurant per platform second (Toast: 5), then 429.
    orders_bulk_per_second: int = 5
