"""How the persona customer reacts: a temperament per difficulty, what each move of the
salesperson is worth in purchase intent, and when the customer decides.

Tuning data of `salesenv.customers.persona.PersonaCustomer`; the module docstring there
says what the simulator models.

Fairness across difficulties (the rule `decide` keeps): *for the same salesperson turns,
an easier customer never ends with a lower intent level than a harder one.* Precisely:
when a harder customer decides after some salesperson turns, an easier customer that hears
the same turns (and must decide after the last of them, if it has not before) decides at
least as well on the A > B > C > X > F ladder. Two things make that hold:

- The temperaments are ordered: an easier customer starts higher (buy propensity), gains
  more, loses less, is more patient and turns hostile later, so for the same turns its
  intent is never lower and its hostility the same. Only its buy and maybe thresholds are
  not ordered (medium asks more than hard before buying); the gap in starting intent
  (0.3 between medium and hard) is wider than the gap in thresholds.
- The kind of refusal does not depend on the difficulty (`refusal`). A conversation that
  sells nothing ends with a clear no (C) when the salesperson engaged the customer (gave
  product facts on at least one factor, answered or volunteered, or asked about its
  needs) and with a brush-off (X) when it did not; out of patience, an engaged customer
  still interested says "maybe later" (B). Before, the customer's patience running out
  meant a brush-off and its intent collapsing meant a clear no: an easy customer, patient
  and slow to lose interest, brushed a passive salesperson off after its questions had
  been answered with facts, while an adversarial one, whose intent collapsed first, said
  no to the same salesperson, so the passive agent scored more against harder customers.

Why X stays below C for an easy customer: on the paper's scale a brush-off (perfunctory,
4 points) is worse than a clear no (6) because nothing the salesperson said engaged the
customer; that is the salesperson's failure whatever the customer's temperament, so an
easy customer never engaged brushes off as a hard one does, and one engaged never brushes
off. What the rule does not cover: turns after a harder customer has left (an easy
customer that stays and then hears pressure or tricks can end worse than the harder one
did when it left), and the judge's share of the final score (it penalises each repeated
salesperson turn, and a patient customer hears more of them). See docs/persona_customer.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from salesenv.dialogue import Decision

if TYPE_CHECKING:
    from salesenv.customers.persona import _Conversation


@dataclass(frozen=True)
class Temperament:
    """How one difficulty profile reacts.

    Attributes:
        gain: Multiplier on intent gains.
        penalty: Multiplier on intent losses.
        patience: Unproductive salesperson turns in a row before the customer brushes off.
        buy_threshold: Intent at which a close attempt turns into a purchase.
        maybe_threshold: Intent at which the customer leaves the door open (maybe later).
        hostility_limit: Hostility at which the customer ends the chat in anger.
        decides_alone: Whether the customer commits by itself once its questions are answered.
    """

    gain: float
    penalty: float
    patience: int
    buy_threshold: float
    maybe_threshold: float
    hostility_limit: float
    decides_alone: bool


TEMPERAMENTS = {
    "easy": Temperament(1.3, 0.7, 4, 0.82, 0.55, 2.5, True),
    "medium": Temperament(0.8, 1.1, 3, 0.88, 0.55, 2.0, False),
    "hard": Temperament(0.8, 1.2, 3, 0.80, 0.50, 2.0, False),
    "very_hard": Temperament(0.6, 1.4, 2, 0.80, 0.50, 1.5, False),
    "adversarial": Temperament(0.45, 1.7, 2, 0.80, 0.50, 1.0, False),
}

# Intent changes before the temperament's multipliers.
GAIN_ANSWER_TOP = 0.15  # answered the customer's question on a top decision factor with facts
GAIN_ANSWER = 0.10  # answered the customer's question on another factor with facts
GAIN_RESOLVE_PAIN = 0.12  # answered a raised pain point with facts
GAIN_NEW_TOP_FACTOR = 0.06  # volunteered facts on an unaddressed top factor
GAIN_NEW_FACTOR = 0.03  # volunteered facts on another factor
GAIN_DISCOVERY = 0.04  # asked about the customer's needs (first two times)
GAIN_PARTIAL = 0.02  # talked about the right topic without facts
LOSS_IGNORED = 0.08
LOSS_REPETITION = 0.08
LOSS_PRESSURE = 0.10
LOSS_INVENTED = 0.15
LOSS_BROCHURE = 0.03  # a turn that reads like a pasted brochure (a list, a spec sheet)
LOSS_UNSUPPORTED = 0.10  # a claim, without numbers or cue words, that no product fact supports
LOSS_GUARANTEE = 0.12
LOSS_CONCESSION = 0.08
LOSS_WRONG_LANGUAGE = 0.15
LOSS_TRICK = 0.30
LOSS_EMPTY = 0.05
LOSS_EARLY_CLOSE = 0.05
LOSS_MISFIT = 0.08  # named (pitched) a product that does not fit the persona
FOLLOWUP_COOLDOWN = 0.05  # a follow-up session starts this much below the mean of the two
FOLLOWUP_MIN_INTENT = 0.05
GIVE_UP_INTENT = 0.02
IDLE_TURNS_BEFORE_DECIDING = 2

#: Mistakes a turn can make, in the order their losses add up: the `TurnChecks` finding
#: (also the customer's reaction event) and the intent it costs.
MISTAKES = (
    ("trick", LOSS_TRICK),
    ("wrong_language", LOSS_WRONG_LANGUAGE),
    ("invented", LOSS_INVENTED),
    ("overpromise", LOSS_GUARANTEE),
    ("concession", LOSS_CONCESSION),
    ("pressure", LOSS_PRESSURE),
    ("repetition", LOSS_REPETITION),
)
#: Hostility a mistake adds (the others only cost intent).
HOSTILITY = {"trick": 1.0, "pressure": 0.5}


def decide(st: _Conversation, is_close: bool, must_decide: bool) -> Decision | None:
    """The customer's decision after a salesperson turn, or None to go on talking.

    Difficulty decides how soon the customer leaves and how much it takes to buy; whether a
    conversation that sells nothing ends with a clear no or a brush-off depends only on the
    salesperson (`refusal`), so an easier customer never ends worse than a harder one for
    the same salesperson turns (see the module docstring).

    Args:
        st: The conversation's state, after the turn moved its intent.
        is_close: The turn asks for the sale.
        must_decide: The conversation ends after this reply (the customer must decide).
    """
    temper = st.temperament
    if st.hostility >= temper.hostility_limit:
        return Decision.HOSTILE
    if st.intent <= GIVE_UP_INTENT and st.seller_turns >= 2:
        return Decision.HOSTILE if st.hostility >= 1.0 else refusal(st)
    if st.unproductive > temper.patience:
        # Out of patience: an engaged customer wraps up, one never engaged brushes off.
        return wrap_up(st) if st.engaged else Decision.BRUSH_OFF
    if is_close:
        if st.intent >= st.buy_threshold:
            return Decision.BUY
        if st.intent >= temper.maybe_threshold and (not st.agenda or st.close_attempts >= 1):
            return Decision.MAYBE
        if st.close_attempts >= 2:
            return Decision.NO
    if temper.decides_alone and not st.agenda and st.intent >= st.buy_threshold:
        return Decision.BUY
    if st.idle >= IDLE_TURNS_BEFORE_DECIDING:
        # Nothing left to ask and no close: the customer wraps up on its own.
        return wrap_up(st)
    if must_decide:
        return Decision.BUY if st.intent >= st.buy_threshold else wrap_up(st)
    return None


def wrap_up(st: _Conversation) -> Decision:
    """How a customer that does not buy ends: "maybe later" while its intent is at the
    temperament's maybe threshold, otherwise `refusal`."""
    return Decision.MAYBE if st.intent >= st.temperament.maybe_threshold else refusal(st)


def refusal(st: _Conversation) -> Decision:
    """A non-hostile refusal: a clear no (C) from a customer the salesperson engaged (gave
    product facts on at least one concern), a brush-off (X) from one never engaged.

    Deliberately independent of the difficulty: see the module docstring.
    """
    return Decision.NO if st.engaged else Decision.BRUSH_OFF
