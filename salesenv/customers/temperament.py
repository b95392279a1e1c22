"""How the persona customer reacts: a temperament per difficulty, what each move of the
salesperson is worth in purchase intent, and when the customer decides.

Tuning data of `salesenv.customers.persona.PersonaCustomer`; the module docstring there
says what the simulator models.
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

    Args:
        st: The conversation's state, after the turn moved its intent.
        is_close: The turn asks for the sale.
        must_decide: The conversation ends after this reply (the customer must decide).
    """
    temper = st.temperament
    if st.hostility >= temper.hostility_limit:
        return Decision.HOSTILE
    if st.intent <= GIVE_UP_INTENT and st.seller_turns >= 2:
        if st.hostility >= 1.0:
            return Decision.HOSTILE
        # A customer who engaged says a clear no; one who was not engaged brushes off.
        return Decision.BRUSH_OFF if st.unproductive >= 2 else Decision.NO
    if st.unproductive > temper.patience:
        return Decision.BRUSH_OFF
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
        return Decision.MAYBE if st.intent >= temper.maybe_threshold else Decision.NO
    if must_decide:
        if st.intent >= st.buy_threshold:
            return Decision.BUY
        if st.intent >= temper.maybe_threshold:
            return Decision.MAYBE
        return Decision.NO if st.intent >= 0.15 else Decision.BRUSH_OFF
    return None
