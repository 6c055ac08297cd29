"""docs/fallback-apis.openapi.yaml is valid OpenAPI and documents every route at Toast's paths
the app serves, and no more; real answers match it."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml
from openapi_spec_validator import validate

from hooksim.app import build_app
from hooksim.config import load_settings
from tests.toastapi.test_orders_api import make_orders, toast_time

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "fallback-apis.openapi.yaml"


def spec() -> dict:
    loaded = yaml.safe_load(OPENAPI.read_text())
    validate(loaded)
    return loaded


def test_every_toast_route_is_documented() -> None:
    app = build_app(load_settings(None, environ={}))
    served = {(route.resource.canonical.replace("{guid}", "{orderGuid}"), route.method)
              for route in app.router.routes()
              if route.resource and route.method not in ("HEAD", "OPTIONS")
              and route.resource.canonical.split("/")[1] in
              ("authentication", "orders", "partners", "restaurant-availability", "menus", "stock",
               "ordermgmt-config")}
    documented = {(path, method.upper()) for path, item in spec()["paths"].items() for method in item}
    assert served == documented


async def test_answers_match_the_published_schemas(toast) -> None:
    loaded = spec()
    restaurant = toast.dispatcher.service.restaurants[0].guid
    await make_orders(toast, 5, restaurant)
    now = toast.dispatcher.clock.now()

    def check(path: str, body: object, status: str = "200") -> None:
        schema = loaded["paths"][path]["get"]["responses"][status]
        if "$ref" in schema:
            schema = loaded["components"]["responses"][schema["$ref"].rsplit("/", 1)[1]]
        jsonschema.validate(body, {**schema["content"]["application/json"]["schema"],
                                   "components": loaded["components"]},
                            cls=jsonschema.Draft202012Validator)

    bulk = await toast.get("/orders/v2/ordersBulk", restaurant, startDate=toast_time(now - 60),
                           endDate=toast_time(now + 60))
    check("/orders/v2/ordersBulk", bulk)
    for path in ("/partners/v1/restaurants",):
        check(path, await toast.get(path, None))
    for path in ("/restaurant-availability/v1/availability", "/menus/v2/metadata",
                 "/stock/v1/inventory", "/ordermgmt-config/v1/published/orderingSchedule"):
        check(path, await toast.get(path, restaurant))
    check("/orders/v2/ordersBulk", await toast.get("/orders/v2/ordersBulk", restaurant, 400), "400")
