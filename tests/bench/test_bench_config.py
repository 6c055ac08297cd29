"""bench.harness.Config: how many rounds each figure runs."""

from __future__ import annotations

from bench.harness import Config


def test_short_figures_run_at_least_their_minimum_unless_told_otherwise() -> None:
    assert Config().rounds_at_least(5) == 5                        # default: 3, raised to 5
    assert Config(rounds=7).rounds_at_least(5) == 7                 # never fewer than asked
    assert Config(rounds=2, rounds_given=True).rounds_at_least(5) == 2   # --rounds is exact
    assert Config(rounds=1, quick=True).rounds_at_least(5) == 1     # --quick stays quick
