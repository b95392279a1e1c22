"""Runs sales agents through episodes and summarises the scores."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from salesenv.agents.base import SalesAgent
from salesenv.customers.base import CustomerBackendError
from salesenv.report import markdown_table


@dataclass(frozen=True)
class EpisodeRecord:
    """One finished episode: who played, where, what was said and how it scored."""

    agent: str
    scenario_id: str
    language: str
    difficulty: str
    seed: int | None
    rounds: int
    terminated: bool
    truncated: bool
    decision: str | None
    score: dict[str, Any]
    transcript: list[dict[str, Any]]
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def run_episode(
    env: gym.Env, agent: SalesAgent, seed: int | None = None, options: dict[str, Any] | None = None
) -> EpisodeRecord:
    """Plays one episode of `agent` in `env` and returns its record.

    A customer backend that fails for good (`CustomerBackendError`, after its retries) does
    not lose the run: the episode is returned with `error` set and no score.
    """
    observation, info = env.reset(seed=seed, options=options)
    agent.reset(info, seed=seed)
    start = info
    terminated = truncated = False
    error = None
    try:
        while not (terminated or truncated):
            action = agent.act(observation, info)
            observation, _, terminated, truncated, info = env.step(action)
    except CustomerBackendError as exc:
        error = str(exc)
    return EpisodeRecord(
        agent=agent.name,
        scenario_id=start["scenario_id"],
        language=start["language"],
        difficulty=env.unwrapped.scenario.difficulty,
        seed=seed,
        rounds=info.get("rounds_total", info["round"]),
        terminated=terminated,
        truncated=truncated,
        decision=info.get("decision"),
        score=info.get("score", {}),
        transcript=episode_transcript(info),
        error=error,
    )


def episode_transcript(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Every turn of the episode so far as {"role", "text"} dicts, from a step's info.

    Variants with several sessions (long-horizon) give every turn in `info["transcript"]`;
    otherwise the turns are read from the salesperson-side messages.
    """
    return info.get("transcript") or [
        {"role": "customer" if m["role"] == "user" else "salesperson", "text": m["content"]}
        for m in info["messages"][1:]
    ]


def summarize(
    records: Iterable[EpisodeRecord], by: Sequence[str] = ("agent", "language", "difficulty")
) -> list[dict[str, Any]]:
    """Mean scores and rounds per group, with a 95% normal-approximation interval on the
    final score. Groups are sorted by their keys; errored episodes are counted, not scored."""
    groups: dict[tuple, list[EpisodeRecord]] = defaultdict(list)
    for record in records:
        groups[tuple(getattr(record, key) for key in by)].append(record)
    rows = []
    for key in sorted(groups):
        errors = sum(r.error is not None for r in groups[key])
        group = [r for r in groups[key] if r.error is None]
        if not group:
            rows.append({**dict(zip(by, key, strict=True)), "episodes": 0, "errors": errors})
            continue
        final = np.array([r.score["final"] for r in group])
        half = 1.96 * final.std(ddof=1) / np.sqrt(len(final)) if len(final) > 1 else float("nan")
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "episodes": len(group),
                "errors": errors,
                "final": float(final.mean()),
                "ci95": float(half),
                "intent": float(np.mean([r.score["intent"] for r in group])),
                "judge": float(np.mean([r.score["judge"] for r in group])),
                "buy_rate": float(np.mean([r.decision == "buy" for r in group])),
                "unfaithful": float(np.mean([r.score["unfaithful_turn_rate"] for r in group])),
                "rounds": float(np.mean([r.rounds for r in group])),
            }
        )
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of `summarize` rows."""
    if not rows:
        return "(no episodes)"
    columns = list(max(rows, key=len))
    cells = [[_cell(row.get(c, float("nan"))) for c in columns] for row in rows]
    return markdown_table(columns, cells)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "-" if np.isnan(value) else f"{value:.2f}"
    return str(value)
