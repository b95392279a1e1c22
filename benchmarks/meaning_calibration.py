"""How the thresholds of `salesenv.meaning` were chosen: a sweep on the DEV probes.

    python benchmarks/meaning_calibration.py [--split dev]

Reads the hand-written probes of `benchmarks/meaning_probes/dev.yaml` (never the test
split, which is for reporting) and, for each candidate value of a threshold, reads every
answer with `salesenv.meaning.SheetMeaning` alone (no episode), printing:

- `STATES_FACT` and `BACKGROUND_MARGIN`: per language, the share of paraphrases that
  state the fork's factor (credited as the answer), of off-topic facts that do (wrongly
  credited), of verbatim facts credited (must stay 100%), and of turns that state no fact
  (the dev act probes' discovery, close and pressure lines, against every dev product)
  read as stating one (free credit). Rule: the pair with the highest paraphrase credit in
  the worse language among those that read at most 6% of such turns as a fact in both
  languages (0.50 and 0.08);
- `SUPPORTED`: per language, the share of unsupported claims flagged and of supported
  paraphrases falsely flagged;
- `ACT_MIN` / `ACT_MARGIN`: per language, the share of the hand-written discovery,
  close and pressure utterances (`meaning_probes/acts.yaml`, dev) read as that act, and
  of neutral utterances read as each (false alarms); the chosen values use 0.55 for
  discovery and close and 0.60 for pressure, which costs the salesperson;
- the scripted agent's false flags: the share of its turns on the built-in suite (first
  `--episodes` seeds per language) read as unsupported claims — it never invents, so every
  flag is false.

The chosen values are the module's constants; the README and docs/persona_customer.md
show this table.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import meaning_probe

import salesenv
from salesenv import meaning
from salesenv.agents import ScriptedSalesAgent
from salesenv.cues import lexicon
from salesenv.customers import PersonaCustomer
from salesenv.customers.reading import factor_prototypes
from salesenv.evaluation import run_episode
from salesenv.meaning import SheetMeaning


@contextmanager
def threshold(name: str, value: float) -> Iterator[None]:
    """Sets one module threshold of `salesenv.meaning` for the duration of the block."""
    old = getattr(meaning, name)
    setattr(meaning, name, value)
    _forget_readings()
    try:
        yield
    finally:
        setattr(meaning, name, old)
        _forget_readings()


def _forget_readings() -> None:
    """Empties the per-text reading caches of every sheet (they hold results computed with
    the thresholds in force)."""
    for candidate in gc.get_objects():
        if isinstance(candidate, SheetMeaning):
            candidate._read_cache.clear()


def sheets(probes: meaning_probe.ProbeSet) -> dict[tuple[str, str], tuple[SheetMeaning, object]]:
    """(product, language) -> its SheetMeaning and scenario."""
    found = {}
    for item in (*probes.forks, *probes.claims):
        key = (item.product, item.language)
        if key not in found:
            scenario = meaning_probe.probe_scenario(item.product, item.language)
            facts = tuple((f.factor, f.text) for f in scenario.product.facts)
            found[key] = (
                SheetMeaning(
                    item.language,
                    facts,
                    factor_prototypes(item.language),
                    scenario.salesperson_prompt,
                ),
                scenario,
            )
    return found


def pct(hits: list[bool]) -> str:
    return f"{100 * sum(hits) / len(hits):.1f}%" if hits else "-"


def fact_sweep(probes, table, values, split: str) -> None:
    """Credit of the three answers per (STATES_FACT, BACKGROUND_MARGIN), and the share of
    turns that state no fact (the dev act probes' discovery, close and pressure lines, read
    against every dev product) that are read as stating one."""
    acts = yaml.safe_load(meaning_probe.ACTS_FILE.read_text(encoding="utf-8"))[split]
    print(
        "| STATES_FACT | BACKGROUND_MARGIN | lang | verbatim credited | paraphrase credited "
        "| off-topic credited | non-fact turns read as a fact |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|")
    for value, margin in values:
        with threshold("STATES_FACT", value), threshold("BACKGROUND_MARGIN", margin):
            for lang in ("en", "zh"):
                rows = {"verbatim": [], "paraphrase": [], "off": []}
                for fork in (f for f in probes.forks if f.language == lang):
                    sheet, scenario = table[(fork.product, lang)]
                    off = meaning_probe.off_topic_fact(scenario, fork.factor).text
                    for kind, text in (
                        ("verbatim", fork.fact),
                        ("paraphrase", fork.paraphrase),
                        ("off", off),
                    ):
                        rows[kind].append(fork.factor in sheet.read(text).grounded)
                talk = [t for act in meaning.ACTS for t in acts[lang][act]]
                sheets = [sheet for (_, code), (sheet, _) in table.items() if code == lang]
                false = [bool(sheet.read(t).grounded) for sheet in sheets for t in talk]
                print(
                    f"| {value:.2f} | {margin:.2f} | {lang} | {pct(rows['verbatim'])} | "
                    f"{pct(rows['paraphrase'])} | {pct(rows['off'])} | {pct(false)} |"
                )


def claim_sweep(probes, table, values) -> None:
    print("\n| SUPPORTED | lang | unsupported flagged | supported falsely flagged |")
    print("|---:|---|---:|---:|")
    for value in values:
        with threshold("SUPPORTED", value):
            for lang in ("en", "zh"):
                bad = [
                    bool(table[(c.product, lang)][0].read(c.claim).unsupported)
                    for c in probes.claims
                    if c.language == lang
                ]
                good = [
                    bool(table[(f.product, lang)][0].read(f.paraphrase).unsupported)
                    for f in probes.forks
                    if f.language == lang
                ]
                print(f"| {value:.2f} | {lang} | {pct(bad)} | {pct(good)} |")


def act_sweep(split: str) -> None:
    """Acts by meaning (or cue words) on the hand-written act probes of `split`: recall per
    act and false alarms on neutral utterances, for each (ACT_MIN, ACT_MARGIN)."""
    data = yaml.safe_load(meaning_probe.ACTS_FILE.read_text(encoding="utf-8"))[split]
    print(
        "\n| ACT_MIN | ACT_MARGIN | lang | recall discovery/close/pressure | neutral read as each |"
    )
    print("|---:|---:|---|---|---|")
    for low in (0.50, 0.55, 0.60):
        for margin in (0.0, 0.03, 0.05):
            mins = dict.fromkeys(meaning.ACTS, low)
            with threshold("ACT_MIN", mins), threshold("ACT_MARGIN", margin):
                for lang in ("en", "zh"):
                    sheet = SheetMeaning(lang, (), factor_prototypes(lang))
                    lex = lexicon(lang)

                    def read(text: str, act: str, sheet=sheet, lex=lex) -> bool:
                        return lex.has(act, text) or act in sheet.acts(text)

                    recall = [pct([read(t, a) for t in data[lang][a]]) for a in meaning.ACTS]
                    alarms = [
                        pct([read(t, a) for t in data[lang]["neutral"]]) for a in meaning.ACTS
                    ]
                    print(
                        f"| {low:.2f} | {margin:.2f} | {lang} | {' / '.join(recall)} "
                        f"| {' / '.join(alarms)} |"
                    )


def scripted_false_flags(episodes: int) -> None:
    print("\n| lang | scripted turns | read as unsupported claims |")
    print("|---|---:|---:|")
    for lang in ("en", "zh"):
        customer = PersonaCustomer("semantic")
        env = salesenv.make(f"SalesLLM-{lang}-mixed", customer=customer)
        turns = flagged = 0
        for seed in range(episodes):
            result = run_episode(env, ScriptedSalesAgent(), seed=seed)
            profile_sheet = None
            for turn in result.transcript:
                if turn["role"] != "salesperson":
                    continue
                if profile_sheet is None:
                    profile_sheet = _sheet_of(env)
                turns += 1
                flagged += bool(profile_sheet.read(turn["text"]).unsupported)
        print(f"| {lang} | {turns} | {100 * flagged / max(turns, 1):.1f}% |")


def _sheet_of(env) -> SheetMeaning:
    scenario = env.unwrapped.scenario
    from salesenv.customers.profile import sheet_facts
    from salesenv.customers.reading import sheet_meaning

    return sheet_meaning(scenario.language, sheet_facts(scenario), scenario.salesperson_prompt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=["dev"])
    parser.add_argument("--episodes", type=int, default=100)
    args = parser.parse_args()
    probes = meaning_probe.load_probes(args.split)
    table = sheets(probes)
    fact_sweep(
        probes,
        table,
        [(v, m) for v in (0.45, 0.50, 0.55) for m in (0.05, 0.06, 0.07, 0.08, 0.09, 0.10)],
        args.split,
    )
    claim_sweep(probes, table, [0.40, 0.45, 0.50, 0.55, 0.60])
    act_sweep(args.split)
    scripted_false_flags(args.episodes)


if __name__ == "__main__":
    main()
