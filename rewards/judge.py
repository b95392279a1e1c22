"""Judges: how far the salesperson materially advanced the deal, as an integer 0-10."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from salesenv.cues import lexicon
from salesenv.customers.profile import fact_sheet, sheet_facts
from salesenv.customers.reading import sheet_meaning
from salesenv.customers.turn_checks import check_turn, copy_index
from salesenv.dialogue import Decision, Dialogue


@dataclass(frozen=True)
class JudgeResult:
    """A 0-10 integer judgement and the features behind it."""

    score: int
    features: dict[str, float] = field(default_factory=dict)


class Judge(Protocol):
    """Scores selling performance of finished dialogues, many at a time."""

    name: str
    version: str

    def judge_batch(self, dialogues: Sequence[Dialogue]) -> list[JudgeResult]:
        """One result per dialogue, in order."""
        ...


@dataclass(frozen=True)
class RubricWeights:
    """Points of the rubric judge (see `RubricJudge`)."""

    agreement: float = 3.0
    agreement_customer_driven: float = 1.5
    maybe: float = 1.0
    next_step: float = 2.0
    factors_clarified: float = 3.0
    #: Share of a clarified factor that an honestly admitted gap earns (see `RubricJudge`).
    gap_admitted: float = 0.5
    objections_resolved: float = 2.0
    repetition: float = 1.0
    ignored_question: float = 1.0
    over_promise: float = 1.0
    pressure: float = 1.0
    trick: float = 3.0
    wrong_language: float = 1.0
    #: Per salesperson turn that pastes the product information (see `RubricJudge`).
    copied: float = 0.5


class RubricJudge:
    """A deterministic judge that counts deal progression in the transcript.

    Points, scored conservatively on 0-10: verbal agreement (full points only when the
    salesperson asked for it; a customer-driven agreement earns half), a concrete next step
    the customer did not refuse, the share of the decision factors the customer asked about
    that the next salesperson turn answered with facts from the product information, and
    the share of the customer's objections that the salesperson answered without the
    customer objecting again. Shares, not counts, so that long dialogues earn no more than
    short ones for the same work. Penalties:
    repeated turns, ignored questions, guarantees/numbers/concessions beyond the product
    information, pressure, role-play tricks, turns in the wrong language, and turns that
    paste the product information verbatim (feature `copied_turns`, `copied` points each).

    Copying: the salesperson's rules say to use PRODUCT_INFORMATION but never to quote it.
    A turn that shares a span of `COPY_THRESHOLD` units (8 words in English, 12 characters
    in Chinese; `salesenv.customers.turn_checks`) with a fact or selling point is copied;
    reusing a term, a name or a number is not. Version 3 adds this penalty.

    An answer is rated as the persona customer rates it: facts on the factor asked clarify
    it; talking about the topic without them, or honestly saying that the materials do
    not cover it (the `honest_unknown` cues), answers without clarifying; anything else
    (facts on other factors alone included) ignores the question. Gaps in the product
    information: when no fact covers the factor asked about, the best a faithful
    salesperson can do is to say so rather than invent an answer, so such an admission
    counts `gap_admitted` of a clarified factor (feature `gaps_admitted`), a partial
    answer; admitting a gap that the product information does cover earns nothing.

    Meaning (`understanding="semantic"`, the default; version 3): a turn is read as the
    semantic persona customer reads it (`salesenv.meaning`), so a faithful paraphrase of a
    fact clarifies the factor as the fact's own words do, and a sentence that claims what
    the product information does not support, without numbers or cue words, costs the
    over-promise points (feature `unsupported_claims`); asking for the order and pressing
    count when they are read by meaning too (`salesenv.meaning.SheetMeaning.acts`). A turn
    that already invents numbers or promises gets no credit by meaning. `understanding="lexical"` reads cue words and
    token overlap only.

    It reads only the transcript and the product information, never the simulator's
    hidden state, so it applies to any customer backend.

    Args:
        weights: The points (default `RubricWeights()`).
        understanding: "semantic" or "lexical" (see above).
    """

    name = "rubric"
    version = "3"

    def __init__(
        self, weights: RubricWeights | None = None, understanding: str = "semantic"
    ) -> None:
        if understanding not in ("semantic", "lexical"):
            raise ValueError(
                f"judge.understanding must be semantic or lexical, got {understanding!r}"
            )
        self.weights = weights or RubricWeights()
        self.understanding = understanding

    def judge_batch(self, dialogues: Sequence[Dialogue]) -> list[JudgeResult]:
        return [self._judge(d) for d in dialogues]

    def _judge(self, dialogue: Dialogue) -> JudgeResult:
        f = _features(dialogue, self.understanding == "semantic")
        score = self._points(f, dialogue.decision)
        return JudgeResult(int(min(10, max(0, round(score)))), f)

    def _points(self, f: dict[str, float], decision: Decision | None) -> float:
        """The rubric score of a dialogue's features, before clipping to 0-10."""
        w = self.weights
        score = w.next_step * f["next_step"]
        if f["factors_asked"]:
            handled = f["factors_clarified"] + w.gap_admitted * f["gaps_admitted"]
            score += w.factors_clarified * handled / f["factors_asked"]
        if f["objections_raised"]:
            score += w.objections_resolved * f["objections_resolved"] / f["objections_raised"]
        if decision is Decision.BUY:
            score += w.agreement if f["seller_closed"] else w.agreement_customer_driven
        elif decision is Decision.MAYBE:
            score += w.maybe
        score -= w.repetition * f["repetitions"] + w.ignored_question * f["ignored_questions"]
        score -= w.over_promise * (f["over_promises"] + f["unsupported_claims"])
        score -= w.pressure * f["pressure"]
        score -= w.trick * f["tricks"] + w.wrong_language * f["wrong_language"]
        score -= w.copied * f["copied_turns"]
        return score


#: The features `RubricJudge` reports, in the order of `JudgeResult.features`.
_FEATURES = (
    "factors_asked",
    "factors_clarified",
    "gaps_admitted",
    "objections_raised",
    "objections_resolved",
    "next_step",
    "seller_closed",
    "repetitions",
    "ignored_questions",
    "over_promises",
    "unsupported_claims",
    "pressure",
    "tricks",
    "wrong_language",
    "copied_turns",
)


def _features(dialogue: Dialogue, by_meaning: bool = True) -> dict[str, float]:
    """Counts what the salesperson's turns did (see `RubricJudge`)."""
    scenario = dialogue.scenario
    lang = scenario.language
    lex = lexicon(lang)
    sheet = fact_sheet(scenario)
    turns = dialogue.turns
    f: dict[str, float] = dict.fromkeys(_FEATURES, 0.0)
    asked_all: set[str] = set()
    clarified: set[str] = set()
    gaps: set[str] = set()
    covered = {factor for factor, _ in sheet.facts}
    seen: list[frozenset[str]] = []
    copies = copy_index(scenario)
    meanings = sheet_meaning(lang, sheet_facts(scenario), scenario.salesperson_prompt)
    for i, turn in enumerate(turns):
        if turn.role != "salesperson":
            continue
        text = turn.text
        checks = check_turn(text, lang, sheet, seen, copies)
        seen.append(checks.tokens)
        f["repetitions"] += checks.repetition
        f["tricks"] += checks.trick
        f["pressure"] += checks.pressure
        f["wrong_language"] += checks.wrong_language
        f["copied_turns"] += checks.copied
        f["over_promises"] += checks.unsupported_claim
        previous = turns[i - 1].text if i > 0 and turns[i - 1].role == "customer" else ""
        following = turns[i + 1].text if i + 1 < len(turns) else ""
        grounded, topics = set(checks.grounded), set(lex.factors_in(text))
        acts: frozenset[str] = frozenset()
        if by_meaning:
            meaning = meanings.read(text)
            acts = meaning.acts
            f["pressure"] += "pressure" in acts and not checks.pressure
            if not checks.unsupported_claim:
                grounded |= meaning.grounded
                topics |= set(meaning.about)
                f["unsupported_claims"] += bool(meaning.unsupported)
        asked = lex.factors_in(previous) if _is_question(previous) else frozenset()
        asked_all |= asked
        if asked:
            # Rated as the persona customer rates an answer (see the class docstring).
            clarified |= asked & grounded
            if lex.has("honest_unknown", text):
                gaps |= asked - covered
            replied = asked & (grounded | topics) or lex.has("honest_unknown", text)
            if not replied:
                f["ignored_questions"] += 1
        objection = lex.has("customer_objection", previous)
        f["objections_raised"] += objection
        if objection and (grounded or lex.has("empathy", text)):
            next_customer_ok = following and not (
                lex.has("customer_objection", following) or lex.has("customer_refusal", following)
            )
            if next_customer_ok:
                f["objections_resolved"] += 1
        if lex.has("close", text) or lex.has("next_step", text) or "close" in acts:
            f["seller_closed"] = 1.0
            if following and not lex.has("customer_refusal", following):
                f["next_step"] = 1.0
    f["factors_asked"] = float(len(asked_all))
    f["factors_clarified"] = float(len(clarified))
    f["gaps_admitted"] = float(len(gaps - clarified))
    return f


def _is_question(text: str) -> bool:
    return "?" in text or "？" in text or "吗" in text
