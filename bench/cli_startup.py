"""CLI start-up: ``hooksim --help``, ``sign``, ``verify`` and ``secret`` as a user runs them.

Each command runs as a fresh ``python -m hooksim`` process (interpreter start-up included), once
per round; the median wall time per command is compared with the 0.3 s target. The commands that
need no server import no aiohttp, settings or event catalogue (tests/cli checks which modules load).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

from bench.harness import PYTHON, Config, Row, median

LIMIT_S = 0.3
BODY = {"timestamp": "2024-03-28T15:11:01.000Z", "eventCategory": "stock", "details": {}}


def _commands(folder: Path) -> dict[str, list[str]]:
    body = folder / "body.json"
    body.write_text(json.dumps(BODY))
    signature = subprocess.run([PYTHON, "-m", "hooksim", "sign", "--secret", "s", str(body)],
                               capture_output=True, text=True, check=True).stdout.strip()
    return {"--help": ["--help"], "sign": ["sign", "--secret", "s", str(body)],
            "verify": ["verify", "--secret", "s", "--signature", signature, str(body)],
            "secret": ["secret"]}


def _wall(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([PYTHON, "-m", "hooksim", *args], capture_output=True, check=True, timeout=30)
    return time.perf_counter() - started


def run(config: Config) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, args in _commands(Path(folder)).items():
            walls = [_wall(args) for _ in range(max(config.rounds, 5))]
            wall = median(walls)
            print(f"hooksim {name}: {wall * 1000:.0f} ms wall (median of {len(walls)})")
            rows.append(Row(f"CLI start-up: hooksim {name}", f"{wall * 1000:.0f} ms", "-", None,
                            f"< {LIMIT_S * 1000:.0f} ms wall", wall < LIMIT_S,
                            note="wall per run (ms): " + ", ".join(f"{w * 1000:.0f}" for w in walls),
                            rounds={"wall_s": walls}))
    return rows
