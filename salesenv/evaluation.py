"""Evaluating sales agents: one resumable run into a results folder, or one episode.

    selection = select_suite(salesenv.load_suite("salesllm-1805"), limit=10)
    result = evaluate("runs/mine", [ScriptedSalesAgent()], PersonaCustomer(), scorer, selection)

`salesenv.runner.select_suite` / `select_envs` say what to play; `evaluate` plans the
episodes, skips those the output folder already holds, plays the rest many at a time
(`salesenv.runner.run_planned`), writes a record per episode as it ends and the summary
when the run stops (`salesenv.results.RunDirectory`). `salesenv eval` and
`examples/evaluate.py` are this function behind a command line; `play` plays the same
episodes into a list (benchmarks). `run_episode` plays one episode in one env.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import salesenv
from salesenv.agents.base import BatchSalesAgent, SalesAgent
from salesenv.customers.base import CustomerBackendError
from salesenv.protocol import get_protocol
from salesenv.report import group_summary, markdown_table
from salesenv.results import RunDirectory
from salesenv.runner import (
    EpisodeGroup,
    PlannedEpisode,
    Selection,
    episode_transcript,
    plan_episodes,
    run_planned,
)

# --- what is evaluated -------------------------------------------------------------------


def describe_agent(agent: Any) -> dict[str, Any]:
    """What an agent is, for records: an LLM agent's backend and model, else its class."""
    if hasattr(agent, "describe"):
        return dict(agent.describe())
    return {"name": agent.name, "class": f"{type(agent).__module__}.{type(agent).__qualname__}"}


def scoring_versions(scorer: Any) -> dict[str, Any]:
    """The scoring profile, intent scorer and judge with their versions, for records."""
    return {
        "profile": f"{scorer.profile.name}-v{scorer.profile.version}",
        "alpha": scorer.profile.alpha,
        "intent": f"{scorer.intent.name}-v{scorer.intent.version}",
        "judge": f"{scorer.judge.name}-v{scorer.judge.version}",
        "faithfulness_penalty": scorer.faithfulness_penalty,
    }


def eval_manifest(
    selection: Selection,
    agents: Sequence[Any],
    customer: Any,
    scorer: Any,
    *,
    max_rounds: int | None,
    seed: int,
    trials: int,
    protocol: str | None = None,
) -> dict[str, Any]:
    """The `run.json` of an evaluation: what is evaluated, which a resumed run must match.

    `max_rounds` None stands for the protocol's own (None: the default protocol).
    """
    rules = get_protocol(protocol)
    described = customer.describe()
    agent_info = {agent.name: describe_agent(agent) for agent in agents}
    return {
        "suite": selection.suite,
        "suite_hash": selection.suite_hash,
        "envs": [group.env_id for group in selection.groups],
        "agents": [agent.name for agent in agents],
        "agent_models": {
            name: {k: info[k] for k in ("backend", "model", "seed") if k in info}
            for name, info in agent_info.items()
            if "model" in info
        },
        "customer": {
            k: described[k] for k in ("backend", "model", "understanding") if k in described
        },
        "scoring": scoring_versions(scorer),
        "protocol": rules.name,
        "max_rounds": rules.max_rounds if max_rounds is None else max_rounds,
        "seed": seed,
        "trials": trials,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "salesenv_version": salesenv.__version__,
    }


# --- a resumable run -----------------------------------------------------------------------


@dataclass(frozen=True)
class EvalResult:
    """How an evaluation ended.

    Attributes:
        out: The output folder.
        planned: Episodes planned (agents x episodes x trials).
        resumed: Episodes the folder already held, without error, when the run started.
        records: Every record in the folder, errored ones included, the last per episode.
        complete: Whether every planned episode was played (some may have errored).
    """

    out: Path
    planned: int
    resumed: int
    records: list[dict[str, Any]] = field(repr=False)
    complete: bool

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The records of episodes that failed (a rerun retries them)."""
        return [r for r in self.records if r.get("error") is not None]

    @property
    def finished(self) -> int:
        """Episodes played to the end without error."""
        return len(self.records) - len(self.errors)


def evaluate(
    out: str | os.PathLike[str],
    agents: Sequence[SalesAgent | BatchSalesAgent],
    customer: Any,
    scorer: Any,
    selection: Selection,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    trials: int = 1,
    seed: int = 0,
    num_envs: int = 32,
    progress: bool = True,
    on_resume: Callable[[int, int], None] | None = None,
    on_stop: Callable[[EvalResult], None] | None = None,
) -> EvalResult:
    """Plays every agent on every episode of `selection` into `out`, resumably.

    Episode i of trial t of a group gets seed `seed + i + t * count`. `out` gets `run.json`
    (the manifest), `episodes.jsonl` (one record per episode, appended as it ends) and
    `summary.json` (written when the run stops, however it stops). A rerun with the same
    settings keeps the finished episodes and plays the others (errored ones again).

    Args:
        out: The output folder.
        agents: The agents, each with its own name.
        customer: The customer backend every env shares.
        scorer: The episode scorer every env shares.
        selection: What to play (`select_suite`, `select_envs`).
        env_kwargs: More keyword arguments for `salesenv.make_vec` (max_rounds,
            protocol, ...); the manifest names the protocol and the round limit.
        trials: Plays of each episode.
        seed: Seed of the first episode.
        num_envs: Conversations run at once.
        progress: Show a progress bar.
        on_resume: Called with (episodes done, episodes planned) when the folder already
            holds finished episodes.
        on_stop: Called with the result when the run stops before its end (an exception,
            Ctrl-C), after the summary is written; the exception then propagates.

    Raises:
        ValueError: If there is no agent, or two agents share a name.
        salesenv.results.RunDirInUseError: If another running eval holds `out`.
        salesenv.results.ResultsError: If `out` holds results of a different run.
        salesenv.runner.EvalAbortedError: If the first episodes all failed.
    """
    names = [agent.name for agent in agents]
    if not names:
        raise ValueError("no agent to evaluate")
    if len(set(names)) != len(names):
        raise ValueError(f"two agents share a name ({names}): give each its own name")
    env_kwargs = dict(env_kwargs or {})
    manifest = eval_manifest(
        selection,
        agents,
        customer,
        scorer,
        max_rounds=env_kwargs.get("max_rounds"),
        seed=seed,
        trials=trials,
        protocol=env_kwargs.get("protocol"),
    )
    plans = _plans(agents, selection, trials, seed)
    total = sum(len(p) for _, _, p in plans)
    run_dir = RunDirectory(out)
    with run_dir.lock():
        run_dir.start(manifest)
        kept = {k: r for k, r in run_dir.finished().items() if r.get("error") is None}
        done = sum(1 for _, _, p in plans for e in p if e.key in kept)
        if kept and on_resume is not None:
            on_resume(done, total)
        player = _Player(run_dir.append, customer, scorer, env_kwargs, num_envs)
        complete = False
        try:
            with player.progress(total, done, kept, enabled=progress):
                for agent, group, planned in plans:
                    player.play(agent, group, [e for e in planned if e.key not in kept])
            complete = True
        finally:
            result = _finish(run_dir, manifest, total, done, complete)
            if not complete and on_stop is not None:
                on_stop(result)
    return result


def play(
    agents: Sequence[SalesAgent | BatchSalesAgent],
    selection: Selection,
    customer: Any = None,
    scorer: Any = None,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    trials: int = 1,
    seed: int = 0,
    num_envs: int = 32,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """The records of every agent on every episode of `selection`, played as `evaluate`
    plays them (same seeds, same records) but kept in memory: no folder, no resuming.

    Args:
        agents: The agents.
        selection: What to play (`select_suite`, `select_envs`).
        customer: The customer backend every env shares (default: the persona simulator).
        scorer: The episode scorer every env shares (default: `EpisodeScorer()`).
        env_kwargs: More keyword arguments for `salesenv.make_vec` (max_rounds, ...).
        trials: Plays of each episode.
        seed: Seed of the first episode.
        num_envs: Conversations run at once.
        progress: Show a progress bar.

    Raises:
        salesenv.runner.EvalAbortedError: If the first episodes all failed.
    """
    from salesenv.customers import PersonaCustomer
    from salesenv.rewards import EpisodeScorer

    customer = customer if customer is not None else PersonaCustomer()
    scorer = scorer if scorer is not None else EpisodeScorer()
    plans = _plans(agents, selection, trials, seed)
    records: list[dict[str, Any]] = []
    player = _Player(records.extend, customer, scorer, env_kwargs or {}, num_envs)
    with player.progress(sum(len(p) for _, _, p in plans), 0, {}, enabled=progress):
        for agent, group, planned in plans:
            player.play(agent, group, planned)
    return records


def _plans(
    agents: Sequence[Any], selection: Selection, trials: int, seed: int
) -> list[tuple[Any, EpisodeGroup, list[PlannedEpisode]]]:
    """Every agent's planned episodes on every group of `selection`."""
    return [
        (
            agent,
            group,
            plan_episodes(
                agent.name, group.env_id, group.count, trials, seed, group.scenarios is not None
            ),
        )
        for agent in agents
        for group in selection.groups
    ]


def _finish(
    run_dir: RunDirectory, manifest: dict[str, Any], total: int, done: int, complete: bool
) -> EvalResult:
    """Writes `summary.json` from the records file, and returns the result."""
    # The records file is the truth: an interrupt can land between a write and the
    # bookkeeping, and the summary must count what a resume will find.
    records = list(run_dir.finished().values())
    result = EvalResult(run_dir.path, total, done, records, complete)
    errors = len(result.errors)
    run_dir.write_summary(
        {
            "complete": complete and errors == 0,
            "planned": total,
            "finished": result.finished,
            "errored": errors,
            "run": manifest,
            "by_agent_language": group_summary(records, by=("agent", "language")),
            "by_agent_language_difficulty": group_summary(
                records, by=("agent", "language", "difficulty")
            ),
        }
    )
    return result


class _Player:
    """Plays pending episodes of one agent on one env id in a vector env, handing each
    finished batch of records to `sink` and moving the progress bar."""

    def __init__(
        self,
        sink: Callable[[list[dict[str, Any]]], None],
        customer: Any,
        scorer: Any,
        env_kwargs: Mapping[str, Any],
        num_envs: int,
    ) -> None:
        self.sink, self.customer, self.scorer = sink, customer, scorer
        self.env_kwargs, self.num_envs = env_kwargs, num_envs
        self.versions = {
            "salesenv": salesenv.__version__,
            "customer": customer.describe(),
            "scoring": scoring_versions(scorer),
        }
        self.scores: list[float] = []
        self.bar: Any = None

    @contextlib.contextmanager
    def progress(
        self, total: int, done: int, kept: dict[str, dict[str, Any]], enabled: bool
    ) -> Iterator[None]:
        """A progress bar over the run, showing the mean score so far."""
        from tqdm import tqdm

        self.scores = [r["score"]["final"] for r in kept.values()]
        self.bar = tqdm(
            total=total,
            initial=done,
            desc="episodes",
            unit="ep",
            disable=not enabled,
            dynamic_ncols=True,
        )
        try:
            yield
        finally:
            self.bar.close()

    def play(self, agent: Any, group: EpisodeGroup, pending: list[PlannedEpisode]) -> None:
        """Plays `pending` (episodes of `group`) with `agent`."""
        if not pending:
            return
        envs = salesenv.make_vec(
            group.env_id,
            num_envs=min(self.num_envs, len(pending)),
            customer=self.customer,
            scorer=self.scorer,
            scenarios=group.scenarios,
            **self.env_kwargs,
        )
        try:
            versions = {**self.versions, "agent": describe_agent(agent)}
            run_planned(envs, agent, pending, self._save, versions)
        finally:
            envs.close()

    def _save(self, finished: list[dict[str, Any]]) -> None:
        self.sink(finished)
        self.scores.extend(r["score"]["final"] for r in finished if r["error"] is None)
        self.bar.update(len(finished))
        if self.scores:
            mean = sum(self.scores) / len(self.scores)
            self.bar.set_postfix(mean_score=f"{mean:.2f}", refresh=False)


# --- one episode ---------------------------------------------------------------------------


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
    protocol: str = "salesenv"
    #: Salesperson turns that pasted the product information (step info `action_copied`).
    copied_turns: int = 0

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
    copied = 0
    try:
        while not (terminated or truncated):
            action = agent.act(observation, info)
            observation, _, terminated, truncated, info = env.step(action)
            copied += bool(info.get("action_copied"))
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
        protocol=start.get("protocol", "salesenv"),
        copied_turns=copied,
    )


# --- summaries of `run_episode` records ---------------------------------------------------


def summarize(
    records: Iterable[EpisodeRecord | dict[str, Any]],
    by: Sequence[str] = ("agent", "language", "difficulty"),
) -> list[dict[str, Any]]:
    """`salesenv.report.group_summary` of `run_episode` records (or record dicts)."""
    rows = [r.as_dict() if isinstance(r, EpisodeRecord) else r for r in records]
    return group_summary(rows, by)


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


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (e.g. from a job scheduler) stops an evaluation like Ctrl-C, so that
    `evaluate` writes its summary; a no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
