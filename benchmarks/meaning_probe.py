"""Meaning probe: does the persona customer credit an answer by what it means?

    python benchmarks/meaning_probe.py [--split dev|test] [--understanding lexical semantic]
                                       [--language en zh] [--difficulty medium] [--limit N]

The probes (`benchmarks/meaning_probes/`, written by hand; see its README) are forks: a
customer of a built-in product has just asked about one decision factor, and the
salesperson answers in one of three ways:

- verbatim: the product fact on that factor, as written in the product sheet;
- paraphrase: the same fact in a salesperson's own words (hand-written);
- off_topic: a fact of the same product on another factor (the first one in sheet order
  on a factor the customer does not weigh; else the first on any other factor).

Each fork is played on a scenario of that product whose persona weighs the fork's factor
first: the salesperson greets neutrally, the customer asks about the factor (checked), the
salesperson gives the answer, and the scripted agent (`salesenv.agents.ScriptedSalesAgent`)
plays the rest of the conversation, so the three answers share the same continuation. Per
fork and answer it records whether the customer credited the turn as an answer ("good" in
`PersonaCustomer.last_events`), the change of its hidden intent on that turn, and the
episode's final score (0-10, the env's default scorer, as `salesenv eval` scores).

Claims: each unsupported claim (no fact of the product supports it) is said after the same
neutral greeting; it counts as flagged when the customer reads it as an unsupported claim
(a mistake event other than trick, wrong language, pressure or repetition: today
"invented", "overpromise", "concession", and "unsupported" when read by meaning). The supported claims are the forks' paraphrases:
flagging one of those is a false flag.

Tune on `--split dev`; report `--split test` only.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from salesenv.agents import ScriptedSalesAgent
from salesenv.cues import lexicon
from salesenv.customers.base import CustomerReply, CustomerRequest
from salesenv.customers.persona import UNDERSTANDING_MODES, PersonaCustomer, phrases
from salesenv.customers.reading import factor_prototypes
from salesenv.customers.temperament import MISTAKES
from salesenv.env import SalesEnv
from salesenv.meaning import ACTS, SheetMeaning
from salesenv.scenarios import prompts
from salesenv.scenarios.sampler import ScenarioSampler
from salesenv.scenarios.scenario import DIFFICULTIES, FACTORS, LANGUAGES, Fact, Scenario
from salesenv.scenarios.seed import load_seed

PROBE_DIR = Path(__file__).resolve().parent / "meaning_probes"
SPLITS = ("dev", "test")
KINDS = ("verbatim", "paraphrase", "off_topic")
#: The salesperson's first turn: no fact, no question about needs, no close, so the
#: customer answers it by asking about its first decision factor.
NEUTRAL_TURN = {
    "en": "Hello, thanks for getting in touch. I'm glad to help with this.",
    "zh": "您好，感谢您的咨询，很高兴为您服务。",
}
#: Events that mean "this turn claims something the product does not support": every
#: mistake the customer reads except those about the form of the turn.
CLAIM_EVENTS = (frozenset(name for name, _ in MISTAKES) | {"unsupported"}) - {
    "trick",
    "wrong_language",
    "pressure",
    "repetition",
}
_FORK_FIELDS = ("id", "language", "product", "factor", "fact", "paraphrase")
_CLAIM_FIELDS = ("id", "language", "product", "claim")


class ProbeFileError(ValueError):
    """A probe file is malformed or does not match the product catalog."""


@dataclass(frozen=True)
class Fork:
    """One probe fork: the customer asks about `factor`; `fact` and `paraphrase` answer it."""

    id: str
    language: str
    product: str
    factor: str
    fact: str
    paraphrase: str


@dataclass(frozen=True)
class Claim:
    """A claim about `product` that no fact of it supports."""

    id: str
    language: str
    product: str
    claim: str


@dataclass(frozen=True)
class ProbeSet:
    """One split of the probes."""

    split: str
    forks: tuple[Fork, ...]
    claims: tuple[Claim, ...]

    def products(self) -> set[str]:
        """Product ids used by the forks and the claims."""
        return {f.product for f in self.forks} | {c.product for c in self.claims}


@dataclass(frozen=True)
class AnswerResult:
    """What one answer to one fork did."""

    fork: str
    language: str
    understanding: str
    kind: str
    asked_ok: bool
    credited: bool
    flagged: bool
    delta_intent: float
    final: float
    events: tuple[str, ...]


@dataclass(frozen=True)
class ClaimResult:
    """How the customer read one unsupported claim."""

    claim: str
    language: str
    understanding: str
    flagged: bool
    events: tuple[str, ...]


def load_probes(split: str, folder: Path = PROBE_DIR) -> ProbeSet:
    """Reads `<folder>/<split>.yaml` and checks every item against the product catalog.

    Raises:
        ProbeFileError: Naming the file and the item when a field is missing or unknown,
            an id repeats, or a fork's product, factor or fact text is not in the catalog.
    """
    path = folder / f"{split}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProbeFileError(f"cannot read probe file {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("forks"), list):
        raise ProbeFileError(f"{path}: expected a mapping with a 'forks' list")
    forks = tuple(_item(Fork, _FORK_FIELDS, raw, path, i) for i, raw in enumerate(data["forks"]))
    claims = tuple(
        _item(Claim, _CLAIM_FIELDS, raw, path, i)
        for i, raw in enumerate(data.get("unsupported_claims") or [])
    )
    if data.get("supported_claims", "forks") != "forks":
        raise ProbeFileError(
            f"{path}: supported_claims must be 'forks' (the forks' paraphrases are the "
            "supported claims)"
        )
    seen: set[str] = set()
    for item in (*forks, *claims):
        if item.id in seen:
            raise ProbeFileError(f"{path}: id {item.id!r} appears twice")
        seen.add(item.id)
    problems = catalog_problems(forks, claims)
    if problems:
        raise ProbeFileError(f"{path}: " + "; ".join(problems))
    return ProbeSet(split, forks, claims)


def _item(cls: type, fields: Sequence[str], raw: object, path: Path, index: int):
    if not isinstance(raw, dict):
        raise ProbeFileError(f"{path}: item {index} is not a mapping")
    missing = [f for f in fields if not str(raw.get(f) or "").strip()]
    extra = sorted(set(raw) - set(fields))
    if missing or extra:
        raise ProbeFileError(
            f"{path}: item {index} ({raw.get('id', '?')}): missing {missing}, unknown {extra}; "
            f"each item has exactly {list(fields)}"
        )
    if raw["language"] not in LANGUAGES:
        raise ProbeFileError(f"{path}: {raw['id']}: language must be one of {LANGUAGES}")
    return cls(**{f: str(raw[f]) for f in fields})


def catalog_problems(forks: Sequence[Fork], claims: Sequence[Claim] = ()) -> list[str]:
    """What in the probes does not match the built-in catalog (empty when all is well)."""
    products = {p["id"]: p for p in load_seed().products}
    problems = []
    for claim in claims:
        if claim.product not in products:
            problems.append(f"{claim.id}: unknown product {claim.product!r}")
    for fork in forks:
        product = products.get(fork.product)
        if product is None:
            problems.append(f"{fork.id}: unknown product {fork.product!r}")
            continue
        if fork.factor not in FACTORS:
            problems.append(f"{fork.id}: unknown factor {fork.factor!r}")
            continue
        texts = [f[fork.language] for f in product["facts"] if f["factor"] == fork.factor]
        if not texts:
            problems.append(f"{fork.id}: {fork.product} has no fact on {fork.factor}")
        elif fork.fact not in texts:
            problems.append(
                f"{fork.id}: fact is not a {fork.language} fact of {fork.product} on "
                f"{fork.factor} (copy it exactly from the catalog)"
            )
    return problems


# --- scenarios ----------------------------------------------------------------------------


def probe_scenario(
    product_id: str, language: str, factor: str | None = None, difficulty: str = "medium"
) -> Scenario:
    """A built-in scenario of one product (drawn by the sampler from a catalog holding only
    that product, with a seed fixed by the product and language) whose persona weighs
    `factor` first (when given), the others keeping their order."""
    seed = load_seed()
    raw = next((p for p in seed.products if p["id"] == product_id), None)
    if raw is None:
        raise ValueError(f"unknown product {product_id!r}")
    category = seed.categories[raw["category"]]
    only = dataclasses.replace(seed, categories={raw["category"]: category}, products=(raw,))
    sampler = ScenarioSampler(language, difficulty, domain=category["domain"], seed_data=only)
    rng = np.random.default_rng(zlib.crc32(f"{product_id}:{language}".encode()))
    scenario = sampler.sample(rng)
    if factor is None:
        return scenario
    factors = (factor, *(f for f in scenario.persona.decision_factors if f != factor))[:3]
    persona = dataclasses.replace(scenario.persona, decision_factors=factors)
    profile = seed.difficulties[difficulty]
    customer_prompt = prompts.customer_prompt(
        language,
        scenario.product,
        persona,
        difficulty,
        profile.buy_propensity,
        profile.style[language],
        seed.factor_names,
    )
    return dataclasses.replace(scenario, persona=persona, customer_prompt=customer_prompt)


def off_topic_fact(scenario: Scenario, factor: str) -> Fact:
    """The off-topic answer: the first fact on a factor the persona does not weigh, else the
    first fact on any factor other than `factor`."""
    others = [f for f in scenario.product.facts if f.factor != factor]
    if not others:
        raise ValueError(f"{scenario.product.id} has facts on {factor} only")
    weighed = set(scenario.persona.decision_factors)
    return next((f for f in others if f.factor not in weighed), others[0])


def asks_about(reply: str, factor: str, language: str, product_name: str) -> bool:
    """Whether a customer reply asks about `factor`: it holds one of the phrase bank's
    questions on it, or (for banks written per product) the lexicon reads the factor."""
    bank = phrases()[language].get("ask_factor", {})
    options = bank.get(factor, []) if isinstance(bank, dict) else []
    for option in options if isinstance(options, list) else []:
        try:
            if option.format(product=product_name) in reply:
                return True
        except (KeyError, IndexError, AttributeError):
            continue
    return factor in lexicon(language).factors_in(reply)


# --- playing ------------------------------------------------------------------------------


class _ProbedCustomer(PersonaCustomer):
    """The persona customer, remembering the conversation id of the last request."""

    last_conversation = ""

    def respond(self, requests: Sequence[CustomerRequest]) -> list[CustomerReply]:
        self.last_conversation = requests[-1].conversation_id
        return super().respond(requests)


class Prober:
    """Plays probe conversations with one persona customer (one understanding mode)."""

    def __init__(
        self, understanding: str, difficulty: str = "medium", max_rounds: int | None = None
    ) -> None:
        self.understanding = understanding
        self.difficulty = difficulty
        self.customer = _ProbedCustomer(understanding=understanding)
        self.max_rounds = max_rounds
        self._envs: dict[str, SalesEnv] = {}

    def _env(self, language: str) -> SalesEnv:
        if language not in self._envs:
            self._envs[language] = SalesEnv(
                language=language,
                difficulty=self.difficulty,
                customer=self.customer,
                max_rounds=self.max_rounds,
            )
        return self._envs[language]

    def _open(self, scenario: Scenario) -> tuple[SalesEnv, dict, str, str]:
        """Resets on `scenario` and plays the neutral turn; returns the env, the reset
        info, the customer's reply and the conversation id."""
        env = self._env(scenario.language)
        _, info = env.reset(seed=0, options={"scenario": scenario})
        reply, _, terminated, truncated, _ = env.step(NEUTRAL_TURN[scenario.language])
        if terminated or truncated:
            raise RuntimeError(f"the customer ended the conversation on the greeting: {reply}")
        return env, info, reply, self.customer.last_conversation

    def play_fork(self, fork: Fork) -> list[AnswerResult]:
        """The three answers of one fork (see the module docstring)."""
        scenario = probe_scenario(fork.product, fork.language, fork.factor, self.difficulty)
        answers = {
            "verbatim": fork.fact,
            "paraphrase": fork.paraphrase,
            "off_topic": off_topic_fact(scenario, fork.factor).text,
        }
        results = []
        for kind in KINDS:
            env, info, question, cid = self._open(scenario)
            asked_ok = asks_about(question, fork.factor, fork.language, scenario.product.name)
            before = self.customer.hidden_intent(cid)
            observation, _, terminated, truncated, step_info = env.step(answers[kind])
            events = self.customer.last_events(cid)
            after = self.customer.hidden_intent(cid)
            delta = (after if after is not None else before) - before
            agent = ScriptedSalesAgent()
            agent.reset(info)
            while not (terminated or truncated):
                action = agent.act(observation, step_info)
                observation, _, terminated, truncated, step_info = env.step(action)
            results.append(
                AnswerResult(
                    fork=fork.id,
                    language=fork.language,
                    understanding=self.understanding,
                    kind=kind,
                    asked_ok=asked_ok,
                    credited="good" in events,
                    flagged=bool(events & CLAIM_EVENTS),
                    delta_intent=delta,
                    final=float(step_info["score"]["final"]),
                    events=tuple(sorted(events)),
                )
            )
        return results

    def play_claim(self, claim: Claim) -> ClaimResult:
        """How the customer reads an unsupported claim said after the neutral greeting."""
        scenario = probe_scenario(claim.product, claim.language, difficulty=self.difficulty)
        env, _, _, cid = self._open(scenario)
        env.step(claim.claim)
        events = self.customer.last_events(cid)
        env.close()
        return ClaimResult(
            claim=claim.id,
            language=claim.language,
            understanding=self.understanding,
            flagged=bool(events & CLAIM_EVENTS),
            events=tuple(sorted(events)),
        )


def run_probe(
    probes: ProbeSet,
    understandings: Sequence[str] = UNDERSTANDING_MODES,
    languages: Sequence[str] = LANGUAGES,
    difficulty: str = "medium",
    limit: int | None = None,
    max_rounds: int | None = None,
) -> tuple[list[AnswerResult], list[ClaimResult]]:
    """Plays every fork's three answers and every claim, per understanding mode.

    Args:
        probes: The split to play.
        understandings: Persona customer modes to compare.
        languages: Languages to play.
        difficulty: The scenarios' difficulty.
        limit: Play only the first `limit` forks and claims of each language.
        max_rounds: Salesperson turns per episode (None: the env's default).
    """
    answers: list[AnswerResult] = []
    claims: list[ClaimResult] = []
    for mode in understandings:
        prober = Prober(mode, difficulty, max_rounds)
        for language in languages:
            forks = [f for f in probes.forks if f.language == language][:limit]
            for fork in forks:
                answers.extend(prober.play_fork(fork))
            for claim in [c for c in probes.claims if c.language == language][:limit]:
                claims.append(prober.play_claim(claim))
    return answers, claims


# --- tables -------------------------------------------------------------------------------


def _pct(values: Sequence[bool]) -> str:
    return f"{100 * sum(values) / len(values):.0f}%" if values else "-"


def _mean(values: Sequence[float], digits: int = 2, signed: bool = False) -> str:
    if not values:
        return "-"
    return f"{statistics.fmean(values):{'+' if signed else ''}.{digits}f}"


def answer_table(results: Sequence[AnswerResult]) -> str:
    """Markdown: per understanding mode, language and answer kind, the credited share, the
    mean change of hidden intent on the answer turn (all answers, and those not credited)
    and the mean final score."""
    lines = [
        "| understanding | lang | answer | forks | credited | mean Δintent | Δintent if not credited | mean final |",
        "|---------------|------|--------|------:|---------:|-------------:|------------------------:|-----------:|",
    ]
    for mode in dict.fromkeys(r.understanding for r in results):
        for lang in dict.fromkeys(r.language for r in results):
            for kind in KINDS:
                cell = [
                    r
                    for r in results
                    if r.understanding == mode and r.language == lang and r.kind == kind
                ]
                if not cell:
                    continue
                lines.append(
                    f"| {mode} | {lang} | {kind} | {len(cell)} | {_pct([r.credited for r in cell])} "
                    f"| {_mean([r.delta_intent for r in cell], 3, signed=True)} "
                    f"| {_mean([r.delta_intent for r in cell if not r.credited], 3, signed=True)} "
                    f"| {_mean([r.final for r in cell])} |"
                )
    return "\n".join(lines)


def claim_table(answers: Sequence[AnswerResult], claims: Sequence[ClaimResult]) -> str:
    """Markdown: per understanding mode and language, the share of unsupported claims
    flagged and the share of supported ones (the forks' paraphrases) falsely flagged."""
    lines = [
        "| understanding | lang | unsupported | flagged | supported | false-flagged |",
        "|---------------|------|------------:|--------:|----------:|--------------:|",
    ]
    for mode in dict.fromkeys(c.understanding for c in (*claims, *answers)):
        for lang in dict.fromkeys(c.language for c in (*claims, *answers)):
            bad = [c for c in claims if c.understanding == mode and c.language == lang]
            good = [
                a
                for a in answers
                if a.understanding == mode and a.language == lang and a.kind == "paraphrase"
            ]
            lines.append(
                f"| {mode} | {lang} | {len(bad)} | {_pct([c.flagged for c in bad])} "
                f"| {len(good)} | {_pct([a.flagged for a in good])} |"
            )
    return "\n".join(lines)


ACTS_FILE = PROBE_DIR / "acts.yaml"


def act_table(split: str, languages: Sequence[str], path: Path = ACTS_FILE) -> str:
    """Markdown: per language and act, the share of the hand-written utterances of that act
    read as it (recall) and the share of neutral utterances read as it (false alarms), by
    cue words alone (lexical) and by cue words or meaning (semantic). Acts by meaning are
    read against an empty product sheet (no fact competes), the harder case."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))[split]
    lines = [
        "| lang | act | items | lexical | semantic | neutral read as it: lexical | semantic |",
        "|------|-----|------:|--------:|---------:|-------------:|---------:|",
    ]
    for lang in languages:
        lex = lexicon(lang)
        sheet = SheetMeaning(lang, (), factor_prototypes(lang))
        neutral = data[lang]["neutral"]
        for act in ACTS:
            items = data[lang][act]
            lexical = [[lex.has(act, t) for t in texts] for texts in (items, neutral)]
            semantic = [
                [hit or act in sheet.acts(t) for hit, t in zip(hits, texts, strict=True)]
                for hits, texts in zip(lexical, (items, neutral), strict=True)
            ]
            lines.append(
                f"| {lang} | {act} | {len(items)} | {_pct(lexical[0])} | {_pct(semantic[0])} "
                f"| {_pct(lexical[1])} | {_pct(semantic[1])} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=SPLITS, default="test")
    parser.add_argument(
        "--understanding", nargs="+", choices=UNDERSTANDING_MODES, default=["lexical", "semantic"]
    )
    parser.add_argument("--language", nargs="+", choices=LANGUAGES, default=list(LANGUAGES))
    parser.add_argument("--difficulty", choices=DIFFICULTIES, default="medium")
    parser.add_argument("--limit", type=int, default=None, help="forks and claims per language")
    parser.add_argument("--show", action="store_true", help="list every paraphrase not credited")
    args = parser.parse_args(argv)
    probes = load_probes(args.split)
    start = time.perf_counter()
    answers, claims = run_probe(
        probes, args.understanding, args.language, args.difficulty, args.limit
    )
    elapsed = time.perf_counter() - start
    off = sorted({r.fork for r in answers if not r.asked_ok})
    print(
        f"\nMeaning probe, split {args.split}, difficulty {args.difficulty}: "
        f"{len({r.fork for r in answers})} forks x {len(KINDS)} answers, {len(claims)} claim "
        f"readings, {elapsed:.1f} s.\n"
    )
    print(answer_table(answers))
    print()
    print(claim_table(answers, claims))
    print()
    print(act_table(args.split, args.language))
    if off:
        print(f"\nWarning: the customer's first question was not about the fork's factor in {off}")
    if args.show:
        for r in answers:
            if r.kind == "paraphrase" and not r.credited:
                print(f"not credited ({r.understanding}): {r.fork} {list(r.events)}")
        for c in claims:
            if not c.flagged:
                print(f"not flagged ({c.understanding}): {c.claim} {list(c.events)}")


if __name__ == "__main__":
    main()
