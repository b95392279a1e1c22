"""Checks that importing (and using) part of salesenv leaves the heavy libraries unloaded."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence


def assert_stays_light(code: str, heavy: Sequence[str]) -> None:
    """Runs `code` in a fresh interpreter and fails if any module in `heavy` got imported."""
    probe = (
        f"import sys\n{code}\n"
        f"loaded = [m for m in {tuple(heavy)!r} if m in sys.modules]\n"
        "assert not loaded, f'imported: {loaded}'"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
