"""The HTTP toolkit every JSON route uses, below ``dispatcher``, ``receiver`` and ``hooksim``
(it imports nothing of theirs; only ``storage.errors``).

- :mod:`web.errors`: :class:`~web.errors.ApiError` and the one error shape
  ``{"error": code, "detail": text, "field": name}`` with the one code vocabulary;
- :mod:`web.routes`: :func:`~web.routes.json_route`, the decorator every JSON handler wears
  (``ApiError`` and a database that cannot answer become that shape, never a 500);
- :mod:`web.params`: the request's JSON body and query parameters (times, integers, choices,
  cursors), each refusal an ``invalid_input`` naming the parameter;
- :mod:`web.times`: the one time grammar (:func:`~web.times.parse_time`) and the one ISO-8601
  formatter (:func:`~web.times.iso`).

A new route: ``routes = aiohttp.web.RouteTableDef()`` in its module, the handler decorated
``@routes.get(...)`` then ``@json_route``, parameters read with :mod:`web.params`, errors raised
as ``ApiError`` (or a subclass); then document it in ``docs/openapi.yaml``.
"""
