"""Agreement statistics of two raters' paired scores: Pearson's r, Spearman's rho, Kendall's
tau-b, percentile-bootstrap intervals and a summary row.

Written for comparing judges (`benchmarks/judge_agreement.py`): numpy only, NaN (never an
exception) where a statistic is undefined, so that a constant judge gives a note, not a
crash.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson's r; NaN when fewer than two pairs or either side is constant."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) < 2:
        return math.nan
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / denominator if denominator > 0 else math.nan


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks from 1, ties sharing the mean of their ranks (as `scipy.stats.rankdata`)."""
    v = np.asarray(values, dtype=float)
    order = np.argsort(v, kind="mergesort")
    ranks = np.empty(len(v))
    sorted_v = v[order]
    start = 0
    for end in range(1, len(v) + 1):
        if end == len(v) or sorted_v[end] != sorted_v[start]:
            ranks[order[start:end]] = (start + end + 1) / 2.0
            start = end
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho: Pearson's r of the average ranks; NaN when undefined."""
    if len(x) < 2:
        return math.nan
    return pearson(average_ranks(x), average_ranks(y))


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b (corrects for ties, as `scipy.stats.kendalltau`); NaN when undefined."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) < 2:
        return math.nan
    upper = np.triu_indices(len(a), k=1)
    da = np.sign(a[:, None] - a[None, :])[upper]
    db = np.sign(b[:, None] - b[None, :])[upper]
    n_a, n_b = float(np.count_nonzero(da)), float(np.count_nonzero(db))
    if n_a == 0 or n_b == 0:
        return math.nan
    return float((da * db).sum()) / math.sqrt(n_a * n_b)


CORRELATIONS: dict[str, Callable[[Sequence[float], Sequence[float]], float]] = {
    "pearson": pearson,
    "spearman": spearman,
    "kendall": kendall_tau,
}


def bootstrap_ci(
    x: Sequence[float],
    y: Sequence[float],
    statistic: Callable[[Sequence[float], Sequence[float]], float],
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """A percentile-bootstrap interval of a paired statistic (pairs resampled together).

    Resamples where the statistic is undefined (e.g. all one score) are dropped; the
    interval is (NaN, NaN) when fewer than half of the resamples are defined.
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) < 3 or resamples < 1:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        index = rng.integers(len(a), size=len(a))
        value = statistic(a[index], b[index])
        if not math.isnan(value):
            values.append(value)
    if len(values) < resamples / 2:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def agreement(
    x: Sequence[float], y: Sequence[float], resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Agreement of two judges' scores on the same dialogues.

    Args:
        x: The first judge's scores.
        y: The second judge's scores of the same dialogues, in the same order.
        resamples: Bootstrap resamples of each interval.
        seed: The bootstrap's seed.

    Returns:
        n; "pearson", "spearman", "kendall" and their "<name>_ci" (low, high); "mad" (mean
        absolute difference); "mean_x", "mean_y"; "note", non-empty when a correlation is
        undefined (fewer than two pairs, or one judge constant).

    Raises:
        ValueError: If `x` and `y` differ in length.
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) != len(b):
        raise ValueError(f"need paired scores, got {len(a)} and {len(b)}")
    row: dict[str, Any] = {"n": len(a)}
    for name, statistic in CORRELATIONS.items():
        row[name] = statistic(a, b)
        row[f"{name}_ci"] = bootstrap_ci(a, b, statistic, resamples, seed)
    row["mad"] = float(np.abs(a - b).mean()) if len(a) else math.nan
    row["mean_x"] = float(a.mean()) if len(a) else math.nan
    row["mean_y"] = float(b.mean()) if len(a) else math.nan
    notes = []
    if len(a) < 2:
        notes.append("fewer than 2 dialogues")
    else:
        if np.all(a == a[0]):
            notes.append(f"first judge constant ({a[0]:g}): correlation undefined")
        if np.all(b == b[0]):
            notes.append(f"second judge constant ({b[0]:g}): correlation undefined")
    row["note"] = "; ".join(notes)
    return row


def format_number(value: float) -> str:
    """Two decimals, or "NaN"."""
    return "NaN" if math.isnan(value) else f"{value:.2f}"


def format_estimate(value: float, ci: tuple[float, float]) -> str:
    """A statistic with two decimals and its interval, e.g. "0.81 [0.62, 0.93]"; "NaN" when
    undefined, the value alone when the interval is."""
    if math.isnan(value):
        return "NaN"
    if math.isnan(ci[0]):
        return f"{value:.2f}"
    return f"{value:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"
