"""`PortfolioSalesEnv`: the salesperson picks and bundles among six products."""

from __future__ import annotations

from typing import Any

from salesenv.customers.base import CustomerReply
from salesenv.env import SalesEnv, StepResult
from salesenv.rewards.portfolio_score import PortfolioProfile, PortfolioScorer
from salesenv.scenarios.portfolio_scenarios import (
    PortfolioScenario,
    build_portfolio,
    pitched_products,
    portfolio_summary,
    products_info,
)
from salesenv.scenarios.scenario import Scenario


class PortfolioSalesEnv(SalesEnv):
    """Six products matched to the customer; the customer buys only those that fit it.

    Each episode's scenario is a sampled (or given) scenario turned into a portfolio by
    `salesenv.scenarios.portfolio_scenarios.build_portfolio`: its product (the one the persona was
    written for) plus five products of the same domain, usually two to four of the six
    fitting the persona (fit >= 0.6, in practice the products of the category the customer
    asks about), in shuffled order. The salesperson's system prompt lists all six with their
    names, short names and facts; the reset info gives their sheets as `info["products"]`
    (`info["product"]` is None, since naming one product would give the answer away).
    Fits stay private until the end.

    Pitched: a product is pitched when a salesperson turn names it (its full name, its name
    without size details, or its brand when that is unambiguous; see `named_products`).
    `info["pitched"]` lists the pitched ids in order of first mention on every step.
    Bought: when the customer decides to buy, it buys every pitched product that fits it
    (fit >= the scenario's threshold) and nothing else; the persona customer never decides
    to buy before a product that fits has been pitched. The same rule applies to the
    decision of an LLM customer. `info["bought"]` is set at the end.

    Score: the blended score (intent and judge; the judge credits only facts of products
    that fit) adjusted by the portfolio term of `salesenv.rewards.portfolio_score` (the env
    wraps its scorer in a `PortfolioScorer`):

        precision = |pitched ∩ good| / |pitched|   (0 when nothing was pitched)
        bought    = |bought ∩ good| / |good|
        final     = (1 - beta) * blended + beta * 10 * (precision + bought) / 2

    with beta = 0.3 (profile "portfolio", version 1). `info["score"]` keeps every part of
    the blended score, sets `final` to the adjusted score and adds `portfolio` (the
    parts, `pitched`, `bought` and `good_fits`); the reward at the end is the adjusted
    final. The final info also has `portfolio`: every product's id, name, fit and whether
    it is a good fit.

    Args:
        *args: Passed to `SalesEnv`.
        portfolio_profile: The weighting of the portfolio term.
        **kwargs: Passed to `SalesEnv`.
    """

    def __init__(
        self, *args: Any, portfolio_profile: PortfolioProfile | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.portfolio_profile = portfolio_profile or PortfolioProfile()
        self.scorer = PortfolioScorer(self.scorer, self.portfolio_profile)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        observation, info = super().reset(seed=seed, options=options)
        info["product"] = None
        info["products"] = products_info(self.scenario)
        return observation, info

    def finish_step(self, reply: CustomerReply) -> StepResult:
        observation, reward, terminated, truncated, info = super().finish_step(reply)
        if terminated or truncated:
            info["bought"] = info["score"]["portfolio"]["bought"]
            info["portfolio"] = portfolio_summary(self.scenario)
        return observation, reward, terminated, truncated, info

    def _choose_scenario(self, options: dict[str, Any]) -> Scenario:
        given = options.get("scenario")
        if isinstance(given, dict) and "items" in given:
            return PortfolioScenario.from_dict(given)
        scenario = super()._choose_scenario(options)
        if isinstance(scenario, PortfolioScenario):
            return scenario
        return build_portfolio(scenario, self.np_random, self.sampler.seed)

    def _get_info(self) -> dict[str, Any]:
        info = super()._get_info()
        info["pitched"] = pitched_products(self.dialogue().turns, self.scenario.items)
        return info
