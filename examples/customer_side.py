"""Evaluates customer policies in the two-agent env against the scripted seller.

    python examples/customer_side.py --episodes 50

Three customer policies play the `customer` agent of `salesenv.multiagent.parallel_env`
while `ScriptedSalesAgent` plays the `seller`:

- persona: the persona simulator through the customer's action (an oracle that reads
  the scenario; the fidelity ceiling).
- always-buy: buys on its first turn, whoever the persona is.
- random-phrase: a random customer-ish phrase each turn (now and then one that acts as the
  seller or is in the other language), with a random decision tag one turn in five.

It prints a Markdown table: the mean customer fidelity reward (0-10), decision alignment
(0-1), role-inverted and wrong-language customer turns per episode, the seller's mean
blended score (0-10), the buy rate and the rounds.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from salesenv.agents import PersonaCustomerPolicy, ScriptedSalesAgent
from salesenv.dialogue import with_decision
from salesenv.evaluation import format_table
from salesenv.multiagent import CUSTOMER, SELLER, SalesParallelEnv, parallel_env

_BUY = {"zh": "好的，就这个吧，我买了。", "en": "Sounds good, I'll take it."}
_PHRASES = {
    "zh": [
        "嗯，我再想想。",
        "这个价格有点贵。",
        "安全性怎么样？",
        "售后服务好不好？",
        "我不太确定。",
        "有什么可以帮您？",  # acts as the seller
        "Is it worth the money?",  # the other language
    ],
    "en": [
        "Hmm, let me think about it.",
        "That sounds a bit expensive.",
        "How safe is it?",
        "What about after-sales support?",
        "I'm not sure.",
        "How can I help you today?",  # acts as the seller
        "这个划算吗？",  # the other language
    ],
}
_TAGS = ("buy", "maybe", "no", "brush_off", "hostile")


class AlwaysBuys:
    """Buys on its first turn."""

    name = "always-buy"

    def __init__(self, env: SalesParallelEnv, seed: int) -> None:
        self.env = env

    def act(self, observation: str, info: dict[str, Any]) -> str:
        return with_decision(_BUY[info["language"]], "buy")


class RandomPhrases:
    """A random phrase each turn, with a random decision tag one turn in five."""

    name = "random-phrase"

    def __init__(self, env: SalesParallelEnv, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, observation: str, info: dict[str, Any]) -> str:
        phrases = _PHRASES[info["language"]]
        text = phrases[int(self.rng.integers(len(phrases)))]
        if self.rng.random() < 0.2:
            return with_decision(text, _TAGS[int(self.rng.integers(len(_TAGS)))])
        return text


class Persona(PersonaCustomerPolicy):
    """`PersonaCustomerPolicy` with the example's constructor."""

    def __init__(self, env: SalesParallelEnv, seed: int) -> None:
        super().__init__(env)


POLICIES = (Persona, AlwaysBuys, RandomPhrases)


def play(env: SalesParallelEnv, policy: Any, seed: int) -> dict[str, Any]:
    """One episode of the scripted seller against `policy`; returns its customer-side record."""
    seller = ScriptedSalesAgent()
    obs, infos = env.reset(seed=seed)
    seller.reset(infos[SELLER], seed=seed)
    while env.agents:
        actions = {
            SELLER: seller.act(obs[SELLER], infos[SELLER]) if infos[SELLER]["to_act"] else "",
            CUSTOMER: policy.act(obs[CUSTOMER], infos[CUSTOMER])
            if infos[CUSTOMER]["to_act"]
            else "",
        }
        obs, rewards, _, _, infos = env.step(actions)
    fidelity = infos[CUSTOMER]["fidelity"]
    return {
        "fidelity": rewards[CUSTOMER],
        "alignment": fidelity["alignment"],
        "role_inv": fidelity["role_inversions"],
        "wrong_lang": fidelity["wrong_language"],
        "seller": rewards[SELLER],
        "buy": fidelity["decision"] == "buy",
        "rounds": infos[CUSTOMER]["round"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=50, help="episodes per language")
    parser.add_argument("--languages", nargs="+", default=["zh", "en"], choices=["zh", "en"])
    parser.add_argument("--difficulty", default="mixed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.episodes < 1:
        parser.error("--episodes must be >= 1")

    rows = []
    for policy_cls in POLICIES:
        records = []
        for language in args.languages:
            env = parallel_env(language=language, difficulty=args.difficulty)
            for episode in range(args.episodes):
                seed = args.seed + episode
                records.append(play(env, policy_cls(env, seed), seed))
            env.close()
        rows.append(
            {
                "policy": policy_cls.name,
                "episodes": len(records),
                "fidelity": float(np.mean([r["fidelity"] for r in records])),
                "alignment": float(np.mean([r["alignment"] for r in records])),
                "role_inv": float(np.mean([r["role_inv"] for r in records])),
                "wrong_lang": float(np.mean([r["wrong_lang"] for r in records])),
                "seller_score": float(np.mean([r["seller"] for r in records])),
                "buy_rate": float(np.mean([r["buy"] for r in records])),
                "rounds": float(np.mean([r["rounds"] for r in records])),
            }
        )
    print(format_table(rows))


if __name__ == "__main__":
    main()
