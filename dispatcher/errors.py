"""The dispatcher's exceptions: the HTTP toolkit's (:mod:`web.errors`), under the names the
service speaks. Each carries its code, hence its status, so the API needs no table."""

from __future__ import annotations

from web.errors import ApiError as DispatcherError
from web.errors import Conflict as WrongState
from web.errors import InvalidInput
from web.errors import NotFound as UnknownResource

__all__ = ["DispatcherError", "InvalidInput", "UnknownResource", "WrongState"]
