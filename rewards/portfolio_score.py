"""The portfolio term: how well the salesperson picked and bundled among several products.

    precision = |pitched ∩ good| / |pitched|          (0 when nothing was pitched)
    bought    = |bought ∩ good| / |good|
    points    = 10 * (precision + bought) / 2          (0-10)
    final     = (1 - beta) * blended + beta * points   (0-10; beta = 0.3 in "portfolio" v1)

`blended` is the episode's usual final score (intent and judge, `EpisodeScorer`); `good`
are the products that fit the customer, `pitched` those the salesperson named, `bought`
those the customer bought. Pitching only products that fit earns full precision; selling
every product that fits (a bundle) earns the full bought share.

`PortfolioScorer` wraps an `EpisodeScorer` and applies the term to portfolio dialogues, so
the env asks it for the score like any other scorer.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from salesenv.dialogue import Decision, Dialogue
from salesenv.rewards.blend import EpisodeScorer, Score
from salesenv.scenarios.portfolio_scenarios import PortfolioScenario, pitched_products


@dataclass(frozen=True)
class PortfolioProfile:
    """A named, versioned weighting of the portfolio term against the blended score.

    Attributes:
        name: Written into every score.
        version: Bumped whenever the formula changes.
        beta: Weight of the portfolio points in the final score, in [0, 1].
    """

    name: str = "portfolio"
    version: str = "1"
    beta: float = 0.3

    def __post_init__(self) -> None:
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta must lie in [0, 1], got {self.beta}")

    def score(
        self,
        blended: float,
        pitched: Collection[str],
        bought: Collection[str],
        good: Collection[str],
    ) -> dict[str, Any]:
        """The portfolio parts and the adjusted final score (see the module docstring).

        Args:
            blended: The episode's blended final score (0-10).
            pitched: Ids of the products the salesperson named.
            bought: Ids of the products the customer bought.
            good: Ids of the products that fit the customer.
        """
        pitched, bought, good = set(pitched), set(bought), set(good)
        precision = len(pitched & good) / len(pitched) if pitched else 0.0
        bought_share = len(bought & good) / len(good) if good else 0.0
        points = 10.0 * (precision + bought_share) / 2.0
        return {
            "final": (1.0 - self.beta) * blended + self.beta * points,
            "blended": blended,
            "points": points,
            "precision": precision,
            "bought_share": bought_share,
            "beta": self.beta,
            "profile": self.name,
            "version": self.version,
        }


PORTFOLIO_PROFILES = {"portfolio": PortfolioProfile()}


@dataclass(frozen=True)
class PortfolioScore:
    """A blended score adjusted by the portfolio term.

    Attributes:
        blended: The episode scorer's score.
        portfolio: `PortfolioProfile.score`'s parts plus `pitched`, `bought` and
            `good_fits` (product ids).
    """

    blended: Score
    portfolio: dict[str, Any]

    @property
    def final(self) -> float:
        """The adjusted final score (0-10)."""
        return self.portfolio["final"]

    def as_dict(self) -> dict[str, Any]:
        """The blended score's dict with `final` adjusted and the parts under `portfolio`."""
        parts = self.blended.as_dict()
        parts["final"] = self.final
        parts["portfolio"] = self.portfolio
        return parts


class PortfolioScorer:
    """Scores portfolio dialogues: the episode scorer's blend, adjusted by the portfolio term.

    The pitched products are those the salesperson's turns name; when the customer decides
    to buy, it buys the pitched products that fit it (the rule of `PortfolioSalesEnv`).

    Args:
        scorer: The episode scorer (default: `EpisodeScorer()`).
        profile: The weighting of the portfolio term (default: "portfolio" v1).
    """

    def __init__(
        self, scorer: EpisodeScorer | None = None, profile: PortfolioProfile | None = None
    ) -> None:
        self.scorer = scorer or EpisodeScorer()
        self.profile = profile or PortfolioProfile()

    def score_batch(self, dialogues: Sequence[Dialogue]) -> list[PortfolioScore]:
        """One `PortfolioScore` per dialogue, in order (their scenarios are portfolios).

        Raises:
            TypeError: If a dialogue's scenario is not a `PortfolioScenario`.
        """
        blended = self.scorer.score_batch(dialogues)
        return [self._adjust(d, s) for d, s in zip(dialogues, blended, strict=True)]

    def _adjust(self, dialogue: Dialogue, blended: Score) -> PortfolioScore:
        scenario = dialogue.scenario
        if not isinstance(scenario, PortfolioScenario):
            raise TypeError(f"PortfolioScorer needs a PortfolioScenario, got {type(scenario)}")
        pitched = pitched_products(dialogue.turns, scenario.items)
        good = scenario.good_fits
        bought = [p for p in pitched if p in good] if dialogue.decision is Decision.BUY else []
        parts = self.profile.score(blended.final, pitched, bought, good)
        parts.update(pitched=pitched, bought=bought, good_fits=list(good))
        return PortfolioScore(blended, parts)
