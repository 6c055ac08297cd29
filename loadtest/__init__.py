"""Load-testing an endpoint against the platform's back-off: ``hooksim load`` and ``predict``.

``run`` drives the real :class:`dispatcher.engine.DeliveryEngine`; ``predict`` replays the same
pure rules (:mod:`dispatcher.backoff`, :mod:`dispatcher.policy`) as a discrete-event simulation.
It sits above ``dispatcher``: nothing in dispatcher, receiver, storage or signing imports it.
"""
