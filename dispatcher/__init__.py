"""The platform simulator: subscriptions, signed events, delivery, retries and back-off.

Where a change belongs:

- a new event category: a module in :mod:`dispatcher.events` exporting a ``CategorySpec``,
  listed in the registry at the bottom of ``dispatcher/events/__init__.py`` (the CLI, the
  portal, the retry schedules and the API's enum follow), plus its ``eventCategory`` in
  ``docs/openapi.yaml``;
- a retry rule (which outcome is retried, when, how often): :mod:`dispatcher.policy`, pure;
- a back-off rule (errors to pause, pauses to stop): :mod:`dispatcher.backoff`, pure, with its
  settings in :mod:`dispatcher.settings` and ``config.toml``;
- what a back-off transition writes or emails: :mod:`dispatcher.transitions`, pure;
- the delivery transaction (claim, record, gate): :mod:`dispatcher.unit_of_work` (read, decide
  with the pure ``decide_batch``, write); its SQL in ``storage.deliveries.DispatchTransaction``;
  the async pool that runs it: :mod:`dispatcher.engine`, which hands results to
  :mod:`dispatcher.recorder` (batches of them) and what committed to :mod:`dispatcher.observers`
  (log lines, metrics and notification hooks);
- an admin API route: :mod:`dispatcher.api` with the HTTP toolkit (:mod:`web`); the rule it
  applies in :mod:`dispatcher.service`.

``dispatcher`` never imports ``receiver`` (nor ``hooksim``, ``loadtest``, ``endpoint_check``).
"""
