"""Tables and plots of evaluation results: the leaderboard, scores by difficulty, turns.

Works on records as `salesenv.results.load_results` returns them. The tables follow the
SalesLLM paper: the leaderboard of its Table 4 (rows = agents, columns = language x
customer model), scores by difficulty as in its Table 1, and score against dialogue turns
as in its Figure 5. Intervals are 95% bootstrap intervals over scenarios: when a scenario
was played several times (`--trials`), its trials are averaged first and scenarios are
resampled, so repeated trials do not narrow the interval as if they were new scenarios.

Scores played under different conversation protocols (`salesenv.protocol`) are not
comparable, so a report never puts two protocols in one column (`check_protocols` refuses
with `MixedProtocolError`). A report of one protocol other than the default names it in the
leaderboard's columns; a report of several (each in columns of its own, e.g. another
customer) names it in every column and, in the other tables, next to each agent.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from salesenv.customers.turn_checks import COPY_THRESHOLD
from salesenv.files import write_atomic
from salesenv.protocol import DEFAULT_PROTOCOL, protocol_of
from salesenv.scenarios.scenario import DIFFICULTIES

Record = dict[str, Any]
#: Bootstrap resamples behind every interval.
BOOTSTRAP_SAMPLES = 2000
#: The score-vs-turns plot draws an agent's mean at a turn count only with this many episodes.
MIN_POINTS_FOR_MEAN = 5


class MixedProtocolError(ValueError):
    """Results of two conversation protocols would share a column of a report."""


def check_protocols(runs: Mapping[str, Sequence[Record]]) -> None:
    """Refuses results in which one leaderboard column (language x customer model) holds
    episodes of two protocols.

    Args:
        runs: The records of each run, by the name the message should use (its folder).

    Raises:
        MixedProtocolError: Naming each mixed column, its protocols and the runs that
            played them, and what to do.
    """
    columns: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for run, records in runs.items():
        for record in records:
            column = (record["language"], customer_label(record))
            columns[column][protocol_of(record)].add(run)
    mixed = {column: found for column, found in columns.items() if len(found) > 1}
    if not mixed:
        return
    details = "; ".join(
        f"column {lang} · {customer}: "
        + ", ".join(f"{p} ({', '.join(sorted(found[p]))})" for p in sorted(found))
        for (lang, customer), found in sorted(mixed.items())
    )
    by_protocol: dict[str, set[str]] = defaultdict(set)
    for found in mixed.values():
        for protocol, names in found.items():
            by_protocol[protocol] |= names
    commands = "; ".join(
        f"salesenv report {' '.join(sorted(names))} --out report-{protocol}"
        for protocol, names in sorted(by_protocol.items())
    )
    raise MixedProtocolError(
        f"these results mix conversation protocols in one column ({details}), and scores "
        f"of different protocols are not comparable. Report each protocol on its own "
        f"({commands}), or rerun the runs of one protocol with --protocol of the other."
    )


def protocols(records: Iterable[Record]) -> list[str]:
    """The protocols of these records, sorted ("salesenv" for records that name none)."""
    return sorted({protocol_of(r) for r in records})


def customer_label(record: Record) -> str:
    """The customer model that played against the agent, as a leaderboard column names it
    ("unrecorded customer" for records of schema 0, which did not record it)."""
    customer = (record.get("versions") or {}).get("customer") or {}
    model = str(customer.get("model") or customer.get("backend") or "unrecorded customer")
    if model == "persona-rules":
        # Version 1 read only words; version 2 reads by meaning unless told "lexical".
        lexical = customer.get("understanding", "lexical") == "lexical"
        return "persona (lexical)" if lexical else "persona"
    return Path(model).name or model


def bootstrap_mean(
    records: Sequence[Record], samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """Mean final score and its 95% bootstrap interval, resampling scenarios.

    Returns:
        (mean, low, high); the interval is (nan, nan) with fewer than two scenarios.
    """
    by_scenario: dict[str, list[float]] = defaultdict(list)
    for record in records:
        by_scenario[record["scenario_id"]].append(record["score"]["final"])
    means = np.array([np.mean(v) for v in by_scenario.values()])
    if len(means) == 0:
        return math.nan, math.nan, math.nan
    mean = float(means.mean())
    if len(means) < 2:
        return mean, math.nan, math.nan
    rng = np.random.default_rng(seed)
    resampled = means[rng.integers(0, len(means), size=(samples, len(means)))].mean(axis=1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return mean, float(low), float(high)


def group_summary(records: Iterable[Record], by: Sequence[str]) -> list[dict[str, Any]]:
    """One row per group of records: episodes, errors, mean final score with its bootstrap
    interval, the score parts, buy rate, rounds, unfaithful-turn rate, the share of
    salesperson turns that pasted the product information (`copied`) and the customer's
    role inversions (per turn and per dialogue).

    Args:
        records: Episode records (errored ones are counted, not scored).
        by: Record fields (or "customer") that define a group.
    """
    groups: dict[tuple, list[Record]] = defaultdict(list)
    for record in records:
        groups[tuple(_field(record, key) for key in by)].append(record)
    rows = []
    for key in sorted(groups, key=lambda k: tuple(_sort_key(v) for v in k)):
        group = groups[key]
        scored = [r for r in group if r.get("error") is None]
        row: dict[str, Any] = dict(zip(by, key, strict=True))
        row.update(episodes=len(scored), errors=len(group) - len(scored))
        if scored:
            mean, low, high = bootstrap_mean(scored)
            customer_turns = sum(
                sum(t["role"] == "customer" for t in r["transcript"]) for r in scored
            )
            inversions = [r.get("flags", {}).get("role_inversion", 0) for r in scored]
            row.update(
                final=mean,
                ci_low=low,
                ci_high=high,
                intent=_mean(r["score"]["intent"] for r in scored),
                judge=_mean(r["score"]["judge"] for r in scored),
                buy_rate=_mean(r["decision"] == "buy" for r in scored),
                rounds=_mean(r["rounds"] for r in scored),
                unfaithful=_mean(r["score"].get("unfaithful_turn_rate", 0.0) for r in scored),
                copied=copied_share(scored),
                inversion_turns=sum(inversions) / max(customer_turns, 1),
                inversion_dialogues=_mean(n > 0 for n in inversions),
            )
        rows.append(row)
    return rows


def leaderboard(records: Sequence[Record]) -> tuple[list[str], list[list[str]]]:
    """The paper's Table 4: one row per agent, one column per language x customer model,
    each cell the mean final score with its 95% interval; rows sorted by their mean. A
    column names its protocol unless every record is of the default one.

    Raises:
        MixedProtocolError: If a column would hold two protocols (`check_protocols`).
    """
    check_protocols({"these results": records})
    columns = sorted({(r["language"], customer_label(r)) for r in records}, key=_sort_key)
    column_protocol = {(r["language"], customer_label(r)): protocol_of(r) for r in records}
    named = protocols(records) != [DEFAULT_PROTOCOL]
    header = [
        "agent",
        *(
            f"{lang} · {customer}" + (f" · {column_protocol[lang, customer]}" if named else "")
            for lang, customer in columns
        ),
        "episodes",
    ]
    cells: dict[str, dict[tuple[str, str], list[Record]]] = defaultdict(lambda: defaultdict(list))
    for record in _scored(records):
        cells[record["agent"]][(record["language"], customer_label(record))].append(record)
    ranked = sorted(
        cells,
        key=lambda a: -_mean(r["score"]["final"] for g in cells[a].values() for r in g),
    )
    rows = [
        [
            agent,
            *(_interval_cell(cells[agent].get(column, [])) for column in columns),
            str(sum(len(g) for g in cells[agent].values())),
        ]
        for agent in ranked
    ]
    return header, rows


def difficulty_table(records: Sequence[Record]) -> tuple[list[str], list[list[str]]]:
    """The paper's Table 1: mean final score per agent and language (rows) and difficulty
    (columns)."""
    present = {r["difficulty"] for r in records}
    difficulties = [d for d in DIFFICULTIES if d in present]
    header = ["agent", "language", *difficulties]
    cells: dict[tuple[str, str], dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    label = _agent_label(records)
    for record in _scored(records):
        cells[(label(record), record["language"])][record["difficulty"]].append(record)
    rows = [
        [
            agent,
            language,
            *(_interval_cell(cells[(agent, language)].get(d, [])) for d in difficulties),
        ]
        for agent, language in sorted(cells)
    ]
    return header, rows


def copied_share(records: Iterable[Record]) -> float:
    """The share of salesperson turns that pasted the product information verbatim (the
    records' `action_copied` flag, `salesenv.customers.turn_checks.COPY_THRESHOLD`)."""
    records = list(records)
    turns = sum(r["rounds"] for r in records)
    copied = sum(r.get("flags", {}).get("action_copied", 0) for r in records)
    return copied / turns if turns else 0.0


def turns_table(records: Sequence[Record]) -> tuple[list[str], list[list[str]]]:
    """Dialogue length per agent: mean, median and 90th percentile of salesperson turns,
    the share of dialogues the customer ended with a decision, the buy rate, how the
    score correlates with the number of turns (Pearson r), and the share of salesperson
    turns that pasted the product information verbatim (`copied_share`)."""
    header = [
        "agent",
        "episodes",
        "mean turns",
        "median",
        "p90",
        "decided",
        "buy rate",
        "r(score, turns)",
        "copied turns",
    ]
    by_agent: dict[str, list[Record]] = defaultdict(list)
    label = _agent_label(records)
    for record in _scored(records):
        by_agent[label(record)].append(record)
    rows = []
    for agent in sorted(by_agent):
        group = by_agent[agent]
        turns = np.array([r["rounds"] for r in group], dtype=float)
        scores = np.array([r["score"]["final"] for r in group])
        r = (
            float(np.corrcoef(turns, scores)[0, 1])
            if len(group) > 2 and turns.std() > 0 and scores.std() > 0
            else math.nan
        )
        rows.append(
            [
                agent,
                str(len(group)),
                _num(turns.mean()),
                _num(np.median(turns)),
                _num(np.percentile(turns, 90)),
                _num(_mean(r["terminated"] for r in group)),
                _num(_mean(r["decision"] == "buy" for r in group)),
                _num(r),
                _num(copied_share(group)),
            ]
        )
    return header, rows


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table with padded columns."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def plot_score_vs_turns(records: Sequence[Record], path: Path) -> Path:
    """The paper's Figure 5: final score against salesperson turns, one colour per agent
    (points jittered so that equal pairs stay visible), with each agent's mean per turn
    count as a line where that count has at least `MIN_POINTS_FOR_MEAN` episodes."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    rng = np.random.default_rng(0)
    by_agent: dict[str, list[Record]] = defaultdict(list)
    label = _agent_label(records)
    for record in _scored(records):
        by_agent[label(record)].append(record)
    for agent in sorted(by_agent):
        turns = np.array([r["rounds"] for r in by_agent[agent]], dtype=float)
        scores = np.array([r["score"]["final"] for r in by_agent[agent]])
        points = ax.scatter(
            turns + rng.uniform(-0.25, 0.25, len(turns)),
            scores + rng.uniform(-0.08, 0.08, len(scores)),
            s=6,
            alpha=0.25,
            label=agent,
        )
        levels = [t for t in np.unique(turns) if (turns == t).sum() >= MIN_POINTS_FOR_MEAN]
        ax.plot(
            levels,
            [scores[turns == t].mean() for t in levels],
            color=tuple(points.get_facecolor()[0][:3]),
            linewidth=1.5,
        )
    ax.set_xlabel("salesperson turns")
    ax.set_ylabel("final score (0-10)")
    ax.set_ylim(0, 10.5)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title(
        f"Score vs dialogue turns (dots: episodes; lines: mean, >= {MIN_POINTS_FOR_MEAN} episodes)"
    )
    ax.legend(markerscale=3, fontsize=8)
    return _save(fig, path)


def plot_score_by_difficulty(records: Sequence[Record], path: Path) -> Path:
    """Mean final score per difficulty, one bar per agent, with 95% bootstrap intervals."""
    plt = _pyplot()
    scored = _scored(records)
    difficulties = [d for d in DIFFICULTIES if any(r["difficulty"] == d for r in scored)]
    label = _agent_label(records)
    agents = sorted({label(r) for r in scored})
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    width = 0.8 / max(len(agents), 1)
    for k, agent in enumerate(agents):
        stats = [
            bootstrap_mean([r for r in scored if label(r) == agent and r["difficulty"] == d])
            for d in difficulties
        ]
        means = np.array([s[0] for s in stats])
        errors = np.array(
            [[m - lo, hi - m] if not math.isnan(lo) else [0, 0] for m, lo, hi in stats]
        ).T
        x = np.arange(len(difficulties)) + (k - (len(agents) - 1) / 2) * width
        ax.bar(x, means, width, label=agent)
        # Separate call: bar(yerr=...) trips a NumPy deprecation inside matplotlib 3.11.
        ax.errorbar(x, means, yerr=errors, fmt="none", ecolor="black", capsize=2, linewidth=1)
    ax.set_xticks(np.arange(len(difficulties)), difficulties)
    ax.set_ylabel("final score (0-10)")
    ax.set_ylim(0, 10.5)
    ax.set_title("Score by difficulty (95% bootstrap intervals)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def write_report(
    records: Sequence[Record], out: Path, sources: Sequence[str] = ()
) -> dict[str, Path]:
    """Writes `report.md` (all tables) and, when matplotlib is installed, the two plots.

    Returns:
        The paths written, by name ("markdown", "score_vs_turns", "score_by_difficulty").

    Raises:
        ValueError: If no record has a score.
        MixedProtocolError: If a column would hold two protocols (`check_protocols`).
    """
    check_protocols({", ".join(sources) or "these results": records})
    if not _scored(records):
        raise ValueError("no scored episode in these results (every one errored or none ran)")
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    plots: list[tuple[str, Callable[[Sequence[Record], Path], Path]]] = [
        ("score_vs_turns", plot_score_vs_turns),
        ("score_by_difficulty", plot_score_by_difficulty),
    ]
    try:
        for name, plot in plots:
            written[name] = plot(records, out / f"{name}.png")
    except ImportError:
        pass
    written["markdown"] = write_atomic(
        out / "report.md", report_markdown(records, sources, written)
    )
    return written


def report_markdown(
    records: Sequence[Record], sources: Sequence[str] = (), plots: dict[str, Path] | None = None
) -> str:
    """The report as Markdown: what it covers, then the three tables (and the plots)."""
    errors = sum(r.get("error") is not None for r in records)
    profiles = sorted({f"{r['score'].get('profile')}" for r in _scored(records)})
    parts = [
        "# salesenv evaluation report",
        "",
        f"{len(records)} episodes from {', '.join(sources) or 'the given results'}"
        f"{f' ({errors} errored: counted, not scored)' if errors else ''}; protocol "
        f"{', '.join(protocols(records))}; scoring profile {', '.join(profiles)}. "
        "Scores are on the 0-10 scale; brackets are 95% bootstrap intervals over scenarios.",
        "",
        "## Leaderboard (agents x language · customer model)",
        "",
        markdown_table(*leaderboard(records)),
        "",
        "## Score by difficulty",
        "",
        markdown_table(*difficulty_table(records)),
        "",
        "## Dialogue turns",
        "",
        markdown_table(*turns_table(records)),
        "",
        "Copied turns: the share of salesperson turns that paste the hidden product "
        f"information (a span of {COPY_THRESHOLD['en']} or more words, "
        f"{COPY_THRESHOLD['zh']} or more characters in Chinese, shared with a fact or "
        "selling point), which the salesperson's rules forbid.",
        "",
    ]
    for name, path in (plots or {}).items():
        parts += [f"![{name.replace('_', ' ')}]({path.name})", ""]
    return "\n".join(parts)


def _pyplot():
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("plots need matplotlib: `pip install salesenv[report]`") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    import io

    import matplotlib.pyplot as plt

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    return write_atomic(path, buffer.getvalue())


def _scored(records: Iterable[Record]) -> list[Record]:
    return [r for r in records if r.get("error") is None and r.get("score")]


def _agent_label(records: Sequence[Record]) -> Callable[[Record], str]:
    """A record's agent as a table row names it: with its protocol when the records hold
    several."""
    if len(protocols(records)) < 2:
        return lambda record: record["agent"]
    return lambda record: f"{record['agent']} · {protocol_of(record)}"


def _field(record: Record, key: str) -> Any:
    return customer_label(record) if key == "customer" else record.get(key)


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return float(np.mean(values)) if values else math.nan


def _num(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def _interval_cell(records: Sequence[Record]) -> str:
    if not records:
        return "-"
    mean, low, high = bootstrap_mean(records)
    return f"{mean:.2f}" if math.isnan(low) else f"{mean:.2f} [{low:.2f}, {high:.2f}]"


def _sort_key(value: Any) -> tuple:
    """Orders difficulties as in the benchmark, everything else by text."""
    if isinstance(value, tuple):
        return tuple(_sort_key(v) for v in value)
    if value in DIFFICULTIES:
        return (0, DIFFICULTIES.index(value), "")
    return (1, 0, str(value))
