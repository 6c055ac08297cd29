"""Tests of access control; :mod:`tests.auth.helpers` has helpers other suites can call."""
