"""The embedded persona customer: a rule-based simulator that needs no model.

What it models: a hidden purchase intent that starts at the difficulty's buy propensity
and moves with what the salesperson does. Answering the persona's decision factors and
pain points with facts that are in the product information raises it; ignoring the
customer's question, repeating oneself, pressure, claims beyond the product facts
(numbers, guarantees, concessions), the wrong language and role-play tricks lower it. The
customer asks about its decision factors in order of importance, raises its pain points,
shares its motivations when asked about its needs, and ends with an explicit decision.

Long-horizon follow-ups (requests with `earlier_sessions`): the customer is the same person
with the same profile. It replays the earlier sessions and starts the next one cooler, at
`(buy propensity + intent at the end of the last session) / 2 - FOLLOWUP_COOLDOWN` (never
below `FOLLOWUP_MIN_INTENT`), so a follow-up is somewhat harder than a fresh first session
after a bad one and about as hard after a near miss. It remembers: the concern the last
session ended on comes first, then the others not yet answered with facts, in order of
importance; concerns answered with facts before are not raised again and earn nothing when
restated; repeating a turn from an earlier session counts as repetition; needs it shared
and discovery questions it answered stay shared. Close attempts, patience and idle turns
start afresh.

Portfolios (`PortfolioScenario`): only facts of products that fit the persona (fit at or
above the scenario's threshold) answer its questions; naming a product that does not fit
costs intent (`LOSS_MISFIT`, "that is not what I need"); the customer calls the product
the salesperson named last by its short name; and it never buys unless a product that
fits has been named, so a would-be purchase without one becomes a "maybe".

Reading by meaning (`understanding="semantic"`, the default): besides cue words and token
overlap, a turn is read with static word vectors distilled from multilingual e5
(`salesenv.meaning`): a faithful paraphrase of a fact answers as the fact does, talk about
a factor without facts is a partial answer, and a sentence that claims what the product
information does not support, without numbers or cue words, costs intent
(`LOSS_UNSUPPORTED`). It does not see the product information as text to compare with
the salesperson's wording: a turn that reads like a brochure (a list, "key: value" items,
four or more facts at once) costs a little (`LOSS_BROCHURE`) because of its form; pasting
the sheet is the rubric judge's to penalise. `understanding="lexical"` is version 1's
reading (cue words and token overlap only), kept for comparison.

What it cannot do: understand meaning as a language model does (static word vectors miss
word order and negation: "no fees" and "fees" read alike), notice subtle falsehoods (its
recall of unsupported claims without numbers is low: see the README), or be persuaded by
anything the rules do not reward. It is a fast, deterministic stand-in for smoke tests,
CI, sweeps and training, not a replacement for an LLM customer.
"""

from __future__ import annotations

import random
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from salesenv.cues import lexicon
from salesenv.customers.base import CustomerLM, CustomerReply, CustomerRequest
from salesenv.customers.profile import CustomerProfile
from salesenv.customers.questions import product_kind, product_profile, question_bank
from salesenv.customers.reading import phrases, sheet_meaning
from salesenv.customers.temperament import (
    FOLLOWUP_COOLDOWN,
    FOLLOWUP_MIN_INTENT,
    GAIN_ANSWER,
    GAIN_ANSWER_TOP,
    GAIN_DISCOVERY,
    GAIN_NEW_FACTOR,
    GAIN_NEW_TOP_FACTOR,
    GAIN_PARTIAL,
    GAIN_RESOLVE_PAIN,
    HOSTILITY,
    LOSS_BROCHURE,
    LOSS_EARLY_CLOSE,
    LOSS_EMPTY,
    LOSS_IGNORED,
    LOSS_MISFIT,
    LOSS_PRESSURE,
    LOSS_UNSUPPORTED,
    MISTAKES,
    TEMPERAMENTS,
    Temperament,
    decide,
)
from salesenv.customers.turn_checks import check_turn
from salesenv.dialogue import Decision, Dialogue
from salesenv.meaning import prefetch
from salesenv.scenarios.portfolio_scenarios import PortfolioScenario, named_products
from salesenv.scenarios.scenario import Scenario

MAX_CACHED_CONVERSATIONS = 10_000
#: How the customer reads a salesperson turn: "semantic" (by meaning, `salesenv.meaning`)
#: or "lexical" (cue words and token overlap only; version 1's reading).
UNDERSTANDING_MODES = ("semantic", "lexical")
VERSION = "2"

_REACTION_ORDER = (
    "trick",
    "wrong_language",
    "invented",
    "unsupported",
    "overpromise",
    "concession",
    "pressure",
    "misfit",
    "repetition",
    "brochure",
    "empty",
    "ignored",
    "good",
    "partial",
    "vague",
)
_REACTION_KEYS = {
    "trick": "react_trick",
    "wrong_language": "react_wrong_language",
    "invented": "react_invented",
    "unsupported": "react_unsupported",
    "overpromise": "react_overpromise",
    "concession": "react_concession",
    "pressure": "react_pressure",
    "misfit": "react_misfit",
    "repetition": "react_repetition",
    "brochure": "react_brochure",
    "empty": "react_empty",
    "ignored": "react_ignored",
    "good": "acknowledge_good",
    "partial": "acknowledge_partial",
    "vague": "react_vague",
}
_DECISION_KEYS = {
    Decision.BUY: "decide_buy",
    Decision.MAYBE: "decide_maybe",
    Decision.NO: "decide_no",
    Decision.BRUSH_OFF: "decide_brush_off",
    Decision.HOSTILE: "decide_hostile",
}
_JOIN = {"zh": "", "en": " "}


@dataclass
class _Conversation:
    """Hidden state of one simulated customer."""

    profile: CustomerProfile
    temperament: Temperament
    seed: int
    intent: float
    buy_threshold: float
    agenda: list[tuple[str, object]]
    pending: tuple[str, object] | None = None
    seller_turns: int = 0
    addressed: set[str] = field(default_factory=set)
    discoveries: int = 0
    motivations_shared: int = 0
    unproductive: int = 0
    hostility: float = 0.0
    close_attempts: int = 0
    idle: int = 0
    history: list[frozenset[str]] = field(default_factory=list)
    used: set[tuple[str, int]] = field(default_factory=set)
    decision: Decision | None = None
    portfolio: PortfolioScenario | None = None
    pitched: list[str] = field(default_factory=list)
    focus: str | None = None
    misfit_name: str = ""
    last_events: set[str] = field(default_factory=set)
    #: Question templates per factor, worded for the kind of product (`questions.py`).
    questions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def engaged(self) -> bool:
        """Whether the salesperson engaged the customer: gave product facts on at least one
        factor (answered or volunteered) or asked about its needs. A refusal is then a
        clear no, not a brush-off (`salesenv.customers.temperament.refusal`)."""
        return bool(self.addressed) or self.discoveries > 0


@dataclass
class _Reading:
    """How one salesperson turn moves the customer, before the temperament's multipliers."""

    events: set[str] = field(default_factory=set)
    gain: float = 0.0
    loss: float = 0.0
    productive: bool = False
    is_close: bool = False
    is_discovery: bool = False


class PersonaCustomer(CustomerLM):
    """The embedded persona simulator (see the module docstring for what it models).

    Equal requests give equal replies: every random choice is drawn from a generator seeded
    by the conversation's seed and the turn number. State is cached per conversation id;
    a request whose history does not continue the cached state is replayed from the start,
    so the simulator also answers correctly when conversations are resumed or forked.
    """

    name = "persona"
    deterministic = True

    def __init__(self, understanding: str = "semantic") -> None:
        if understanding not in UNDERSTANDING_MODES:
            raise ValueError(
                f"customer.understanding must be one of {', '.join(UNDERSTANDING_MODES)}, "
                f"got {understanding!r}"
            )
        self.understanding = understanding
        self._cache: OrderedDict[str, tuple[str, _Conversation]] = OrderedDict()
        self._bank = phrases()
        self._factor_names = self._bank["factor_names"]

    def describe(self) -> dict[str, str]:
        return {
            "backend": self.name,
            "model": "persona-rules",
            "version": VERSION,
            "understanding": self.understanding,
        }

    def release(self, conversation_id: str) -> None:
        self._cache.pop(conversation_id, None)

    def respond(self, requests: Sequence[CustomerRequest]) -> list[CustomerReply]:
        if self.understanding == "semantic":
            # The salesperson turns of all conversations in one encoding pass.
            prefetch(r.turns[-1].text for r in requests if r.turns)
        return [self._respond_one(r) for r in requests]

    def hidden_intent(self, conversation_id: str) -> float | None:
        """The current hidden intent of a cached conversation (for debugging and oracles)."""
        entry = self._cache.get(conversation_id)
        return entry[1].intent if entry else None

    def last_events(self, conversation_id: str) -> frozenset[str]:
        """How the customer read the last salesperson turn of a cached conversation (for
        probes and debugging): "good" (answered the pending question with facts),
        "partial", "ignored", "vague", and the mistakes ("invented", "pressure", ...)."""
        entry = self._cache.get(conversation_id)
        return frozenset(entry[1].last_events) if entry else frozenset()

    def _respond_one(self, request: CustomerRequest) -> CustomerReply:
        seller = [t.text for t in request.turns if t.role == "salesperson"]
        if not seller:
            raise ValueError("CustomerRequest.turns must end with a salesperson turn")
        key = f"{request.scenario.id}:{request.seed}"
        entry = self._cache.get(request.conversation_id)
        if entry and entry[0] == key and entry[1].seller_turns == len(seller) - 1:
            state = entry[1]
        else:
            carry = self._replay(request.earlier_sessions, request.seed)
            state = self._start(request.scenario, request.seed, carry)
            for text in seller[:-1]:
                self._step(state, text, must_decide=False)
        text = self._step(state, seller[-1], must_decide=request.must_decide)
        self._cache[request.conversation_id] = (key, state)
        self._cache.move_to_end(request.conversation_id)
        while len(self._cache) > MAX_CACHED_CONVERSATIONS:
            self._cache.popitem(last=False)
        return CustomerReply(text=text, decision=state.decision, flags={"role_inversion": 0})

    def _replay(self, sessions: Sequence[Dialogue], seed: int) -> _Conversation | None:
        """The state at the end of the last earlier session (None when there is none)."""
        state = None
        for session in sessions:
            state = self._start(session.scenario, seed, state)
            for turn in session.turns:
                if turn.role == "salesperson":
                    self._step(state, turn.text, must_decide=False)
        return state

    def _start(
        self, scenario: Scenario, seed: int, carry: _Conversation | None = None
    ) -> _Conversation:
        # A follow-up keeps the first session's profile: the later prompts quote the history,
        # which must not count as product information.
        profile = carry.profile if carry else product_profile(scenario)
        temperament = TEMPERAMENTS[profile.difficulty]
        rng = random.Random(f"{seed}:{scenario.id}:start")
        agenda: list[tuple[str, object]] = []
        pains = list(profile.pain_points)
        for factor in profile.decision_factors:
            agenda.append(("factor", factor))
            if pains:
                agenda.append(("pain", pains.pop(0)))
        agenda.extend(("pain", p) for p in pains)
        extra = sorted(profile.follow_up_factors - set(profile.decision_factors))
        rng.shuffle(extra)
        agenda.extend(("factor", f) for f in extra[:2])
        state = _Conversation(
            profile=profile,
            temperament=temperament,
            seed=seed,
            intent=profile.buy_propensity,
            buy_threshold=temperament.buy_threshold + rng.uniform(-0.04, 0.04),
            agenda=agenda,
            portfolio=scenario if isinstance(scenario, PortfolioScenario) else None,
            questions=question_bank(product_kind(scenario).kind, profile.language),
        )
        if carry is not None:
            _continue_from(state, carry, rng)
        return state

    # -- one salesperson turn -------------------------------------------------------------

    def _step(self, st: _Conversation, utterance: str, must_decide: bool) -> str:
        """Reads one salesperson turn, updates the hidden state and says the reply."""
        rng = random.Random(f"{st.seed}:{st.seller_turns}")
        st.seller_turns += 1
        text = utterance.strip()
        reading = self._read(st, text) if text else _Reading(events={"empty"}, loss=LOSS_EMPTY)
        st.last_events = reading.events
        temper = st.temperament
        st.intent = min(
            1.0, max(0.0, st.intent + reading.gain * temper.gain - reading.loss * temper.penalty)
        )
        st.unproductive = 0 if reading.productive else st.unproductive + 1
        previous = st.pending
        st.idle = st.idle + 1 if previous is None and not st.agenda else 0
        st.pending = None
        return self._reply(st, rng, reading, previous, must_decide)

    def _read(self, st: _Conversation, text: str) -> _Reading:
        """What a non-empty salesperson turn does to the customer: its mistakes (with their
        side effects on hostility, history and pitches), then what it answers."""
        profile = st.profile
        lex = lexicon(profile.language)
        checks = check_turn(text, profile.language, profile.sheet, st.history)
        grounded, topics = set(checks.grounded), set(lex.factors_in(text))
        acts: frozenset[str] = frozenset()
        unsupported, stated = False, len(grounded)
        if self.understanding == "semantic" and profile.facts:
            meaning = sheet_meaning(profile.language, profile.facts, profile.reference).read(text)
            acts = meaning.acts
            if not checks.unsupported_claim:
                # A turn that invents numbers or promises earns no credit by meaning: "绝对稳赚，
                # 零风险" is close to a safety fact in words, not in what it claims.
                grounded |= meaning.grounded
                topics |= set(meaning.about)
                unsupported = bool(meaning.unsupported)
                stated = max(stated, len(meaning.stated_facts))
        reading = _Reading(
            is_close=lex.has("close", text) or "close" in acts,
            is_discovery=(lex.has("discovery", text) or "discovery" in acts) and st.discoveries < 2,
        )
        if "pressure" in acts and not checks.pressure:
            reading.events.add("pressure")
            reading.loss += LOSS_PRESSURE
            st.hostility += HOSTILITY["pressure"]
        for finding, loss in MISTAKES:
            if getattr(checks, finding):
                reading.events.add(finding)
                reading.loss += loss
                if finding in HOSTILITY:
                    st.hostility += HOSTILITY[finding]
        if unsupported:
            reading.events.add("unsupported")
            reading.loss += LOSS_UNSUPPORTED
        if sounds_like_a_brochure(text, stated):
            reading.events.add("brochure")
            reading.loss += LOSS_BROCHURE
        st.history.append(checks.tokens)
        if st.portfolio is not None and self._track_pitches(st, text):
            reading.events.add("misfit")
            reading.loss += LOSS_MISFIT
        self._credit(st, reading, grounded, topics, text)
        return reading

    @staticmethod
    def _credit(
        st: _Conversation, reading: _Reading, grounded: set[str], topics: set[str], text: str
    ) -> None:
        """Adds what the turn earns: an answer to the pending question, facts on new
        factors, a discovery question; or marks it vague, or an early close."""
        profile = st.profile
        kind, item = st.pending or ("", None)
        if kind:
            _rate_answer(st, reading, kind, item, grounded, topics, text)
        for factor in sorted(grounded - st.addressed - {item}):
            reading.gain += (
                GAIN_NEW_TOP_FACTOR if factor in profile.decision_factors else GAIN_NEW_FACTOR
            )
            reading.productive = True
        st.addressed |= grounded
        if reading.is_discovery:
            st.discoveries += 1
            reading.gain += GAIN_DISCOVERY
            reading.productive = True
        if (
            not grounded
            and not reading.is_discovery
            and not reading.is_close
            and not reading.events
        ):
            reading.events.add("vague")
        is_early = st.seller_turns <= 1 and st.intent < st.temperament.maybe_threshold
        if reading.is_close and is_early:
            reading.loss += LOSS_EARLY_CLOSE

    def _reply(
        self,
        st: _Conversation,
        rng: random.Random,
        reading: _Reading,
        previous: tuple[str, object] | None,
        must_decide: bool,
    ) -> str:
        """The customer's words: a reaction to the turn, then a decision or its next move."""
        focus = None
        if previous:
            focus = previous[1] if previous[0] == "factor" else previous[1].factor
        events = reading.events
        reaction = next((e for e in _REACTION_ORDER if e in events), None)
        slots = {"product": st.misfit_name} if reaction == "misfit" else {}
        parts = (
            [self._say(st, rng, _REACTION_KEYS[reaction], factor_id=focus, **slots)]
            if reaction
            else []
        )
        decision = decide(st, reading.is_close, must_decide)
        if decision is Decision.BUY and st.portfolio is not None and not self._fitting_pitch(st):
            decision = Decision.MAYBE  # nothing it would buy has been offered
        if decision is not None:
            st.decision = decision
            if decision in (Decision.BUY, Decision.MAYBE) and reaction not in ("good", "partial"):
                parts = []
            parts.append(self._say(st, rng, _DECISION_KEYS[decision]))
        elif reading.is_close:
            st.close_attempts += 1
            parts.append(self._next_agenda_question(st, rng, prefix_key="not_ready"))
        elif reading.is_discovery:
            parts.append(self._share_need(st, rng))
        elif "ignored" in events:
            st.pending = previous  # the reaction names the question again; wait for an answer
        else:
            parts.append(self._next_agenda_question(st, rng))
        return _JOIN[st.profile.language].join(p for p in parts if p)

    @staticmethod
    def _track_pitches(st: _Conversation, text: str) -> bool:
        """Records the products named in a salesperson turn; True if one of them does not
        fit (the customer then says so, naming it)."""
        portfolio = st.portfolio
        misfit = None
        for product_id in named_products(text, portfolio.items):
            item = portfolio.item(product_id)
            if product_id not in st.pitched:
                st.pitched.append(product_id)
            if item.fit < portfolio.fit_threshold:
                misfit = misfit or item.short_name
            else:
                st.focus = item.short_name
        st.misfit_name = misfit or ""
        return misfit is not None

    @staticmethod
    def _fitting_pitch(st: _Conversation) -> bool:
        good = st.portfolio.good_fits
        return any(product_id in good for product_id in st.pitched)

    # -- what the customer says -------------------------------------------------------------

    def _next_agenda_question(
        self, st: _Conversation, rng: random.Random, prefix_key: str = ""
    ) -> str:
        parts = [self._say(st, rng, prefix_key)] if prefix_key else []
        while st.agenda:
            kind, item = st.agenda.pop(0)
            if kind == "factor" and item in st.addressed:
                continue
            st.pending = (kind, item)
            if kind == "factor":
                parts.append(self._say(st, rng, ("ask_factor", item)))
            else:
                parts.append(self._say(st, rng, "raise_pain", pain=item.text))
            break
        else:
            if not prefix_key:
                parts.append(self._say(st, rng, "thinking"))
        return _JOIN[st.profile.language].join(parts)

    def _share_need(self, st: _Conversation, rng: random.Random) -> str:
        motivations = st.profile.motivations
        if st.motivations_shared < len(motivations):
            text = motivations[st.motivations_shared]
            st.motivations_shared += 1
            return self._say(st, rng, "share_motivation", motivation=text)
        return self._next_agenda_question(st, rng)

    def _say(
        self,
        st: _Conversation,
        rng: random.Random,
        key: str | tuple[str, str],
        factor_id: str | None = None,
        **slots: str,
    ) -> str:
        lang = st.profile.language
        bank = self._bank[lang]
        # The one keyed move, ("ask_factor", factor), asks in the words of the product's kind.
        options = st.questions[key[1]] if isinstance(key, tuple) else bank[key]
        fresh = [i for i in range(len(options)) if (str(key), i) not in st.used] or list(
            range(len(options))
        )
        index = fresh[rng.randrange(len(fresh))]
        st.used.add((str(key), index))
        factor = factor_id
        if factor is None and st.pending and st.pending[0] == "factor":
            factor = st.pending[1]
        if factor is None:
            remaining = [f for f in st.profile.decision_factors if f not in st.addressed]
            factor = (remaining or list(st.profile.decision_factors))[0]
        values = {
            "product": st.focus or st.profile.product_name,
            "factor": self._factor_names[factor][lang],
            "pain": "",
            "motivation": "",
            **slots,
        }
        return options[index].format(**values)


def _rate_answer(
    st: _Conversation,
    reading: _Reading,
    kind: str,
    item: object,
    grounded: set[str],
    topics: set[str],
    text: str,
) -> None:
    """Rates the turn as an answer to the customer's pending question or pain point
    (`grounded`: factors it gave facts on; `topics`: factors it talks about)."""
    lex = lexicon(st.profile.language)
    if kind == "factor":
        factor, excuses = item, ("honest_unknown",)
        gain = GAIN_ANSWER_TOP if item in st.profile.decision_factors else GAIN_ANSWER
    else:
        factor, excuses = item.factor, ("empathy", "honest_unknown")
        gain = GAIN_RESOLVE_PAIN
    if factor in grounded:
        reading.gain += gain
        reading.events.add("good")
        reading.productive = True
    elif factor in topics or any(lex.has(cue, text) for cue in excuses):
        # Talking about the topic without facts, showing empathy for a pain point, or
        # honestly admitting a gap, is a partial answer: no penalty, little gain.
        reading.gain += GAIN_PARTIAL
        reading.events.add("partial")
    elif not reading.is_close:
        reading.events.add("ignored")
        reading.loss += LOSS_IGNORED


def _continue_from(state: _Conversation, carry: _Conversation, rng: random.Random) -> None:
    """Turns a fresh state into the follow-up of `carry` (see the module docstring)."""
    propensity = state.profile.buy_propensity
    state.intent = max(FOLLOWUP_MIN_INTENT, (propensity + carry.intent) / 2 - FOLLOWUP_COOLDOWN)
    state.seed = rng.getrandbits(31)  # new phrasing, still a function of the episode seed
    addressed = carry.addressed

    def open_concern(item: tuple[str, object]) -> bool:
        kind, value = item
        return (value if kind == "factor" else value.factor) not in addressed

    agenda: list[tuple[str, object]] = []
    for item in ([carry.pending] if carry.pending else []) + state.agenda:
        if open_concern(item) and item not in agenda:
            agenda.append(item)
    state.agenda = agenda
    state.addressed = set(addressed)
    state.history = list(carry.history)
    state.used = set(carry.used)
    state.discoveries = carry.discoveries
    state.motivations_shared = carry.motivations_shared


_LIST_LINE = re.compile(r"^\s*(?:[-*•·]|\d+[.)、]|[一二三四五六七八九十]+、)\s*\S", re.M)
_KEY_VALUE = re.compile(r"(?:^|[\n;；|])\s*[^\s:：;；|]{1,24}\s*[:：]\s*\S")
#: Facts one turn may state before it reads like a brochure rather than an answer.
BROCHURE_FACTS = 4


def sounds_like_a_brochure(text: str, facts_stated: int) -> bool:
    """Whether a turn reads like a pasted brochure: a list of three or more lines, three or
    more "key: value" items, or more than `BROCHURE_FACTS - 1` product facts at once. The
    customer does not see the product information, so it judges by form, as a person
    would; copying itself is the judge's to penalise (`salesenv.customers.turn_checks`)."""
    return (
        facts_stated >= BROCHURE_FACTS
        or len(_LIST_LINE.findall(text)) >= 3
        or len(_KEY_VALUE.findall(text)) >= 3
    )
