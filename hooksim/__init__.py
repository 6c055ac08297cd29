"""hooksim's composition root: CLI, configuration, logging and the combined web app."""

__version__ = "0.1.0"
