"""Checks of one salesperson turn: tricks, wrong language, unsupported claims, pressure,
repetition, and which decision factors it restates with facts.

One home for what the persona customer reacts to and what the rubric judge scores, so that
both read a turn the same way. Pure functions of the text, the product sheet and the
earlier turns: callers keep their own history and decide what each finding costs.
"""

from __future__ import annotations

from dataclasses import dataclass

from salesenv.cues import FactSheet, in_language, is_trick, lexicon, repeats, tokens


@dataclass(frozen=True)
class TurnChecks:
    """What one salesperson turn does, read against the product information.

    Attributes:
        tokens: The turn's content tokens (see `salesenv.cues.tokens`); add them to the
            history of earlier turns to catch later repetitions.
        grounded: Decision factors whose facts the turn restates (`FactSheet.grounded_factors`).
        trick: A prompt-injection or role-play trick (either language).
        wrong_language: Text not in the scenario's language (blank text is not).
        invented: Numbers the product information does not contain.
        overpromise: Guarantee wording the product information does not assert.
        concession: Discounts, waivers or gifts beyond the product information.
        pressure: Pressure wording ("only today", "马上").
        repetition: The turn repeats one of the earlier turns.
    """

    tokens: frozenset[str]
    grounded: set[str]
    trick: bool
    wrong_language: bool
    invented: bool
    overpromise: bool
    concession: bool
    pressure: bool
    repetition: bool

    @property
    def unsupported_claim(self) -> bool:
        """Whether the turn claims a number, guarantee or concession the product lacks."""
        return self.invented or self.overpromise or self.concession


def check_turn(
    text: str, language: str, sheet: FactSheet, earlier: list[frozenset[str]]
) -> TurnChecks:
    """Reads one salesperson turn.

    Args:
        text: The salesperson's utterance.
        language: The scenario's language ("zh" or "en").
        sheet: The product information the turn's claims are checked against.
        earlier: Token sets of the salesperson's earlier turns (for repetition).

    Returns:
        The findings; the function changes nothing.
    """
    toks = tokens(text, language)
    return TurnChecks(
        tokens=toks,
        grounded=sheet.grounded_factors(toks),
        trick=is_trick(text),
        wrong_language=bool(text.strip()) and not in_language(text, language),
        invented=bool(sheet.unsupported_numbers(text)),
        overpromise=bool(sheet.unsupported_guarantees(text)),
        concession=bool(sheet.unsupported_concessions(text)),
        pressure=lexicon(language).has("pressure", text),
        repetition=repeats(toks, earlier),
    )
