"""hooksim's composition root: CLI, configuration, logging and the combined web app.

Where a change belongs: a CLI command in :mod:`hooksim.commands`; a setting in
:mod:`hooksim.settings` (or its component's settings) and ``config.toml`` (a test keeps the two
identical); a portal page in :mod:`hooksim.portal` (a ``PAGES`` row in ``portal/pages.py``, a
template, and the JSON API it calls); which parts a ``server.role`` runs in :mod:`hooksim.app`.
"""

__version__ = "0.1.0"
