"""The portfolio term: how well the salesperson picked and bundled among several products.

    precision = |pitched ∩ good| / |pitched|          (0 when nothing was pitched)
    bought    = |bought ∩ good| / |good|
    points    = 10 * (precision + bought) / 2          (0-10)
    final     = (1 - beta) * blended + beta * points   (0-10; beta = 0.3 in "portfolio" v1)

`blended` is the episode's usual final score (intent and judge, `EpisodeScorer`); `good`
are the products that fit the customer, `pitched` those the salesperson named, `bought`
those the customer bought. Pitching only products that fit earns full precision; selling
every product that fits (a bundle) earns the full bought share.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any


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
