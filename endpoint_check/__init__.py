"""``hooksim check``: a conformance probe of the user's endpoint, not a load test.

It sends a handful of single requests the way the platform makes them and judges each answer
against what the platform documents (2xx in time, 4xx for a bad signature, no redirects...).
It uses the dispatcher's request rules and :mod:`signing`; nothing below it imports it.
"""
