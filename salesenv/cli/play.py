"""`salesenv play`: you are the salesperson, at the terminal."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import salesenv
from salesenv.build import instantiate_scorer
from salesenv.cli.common import compose_config


def add_parser(commands: Any) -> None:
    """Adds `salesenv play` to the command parsers."""
    play = commands.add_parser(
        "play",
        help="be the salesperson at the terminal",
        description="You play the salesperson against a customer backend; type your turns, "
        "an empty line or Ctrl-D ends your turn with silence. Scores are shown at the end.",
    )
    play.add_argument("--env", default="SalesLLM-en-medium", help="env id (default en-medium)")
    play.add_argument("--seed", type=int, help="scenario seed (default: random)")
    play.add_argument("--max-rounds", type=int, default=20, help="your turns at most")
    play.add_argument("--no-prompt", action="store_true", help="do not show the product sheet")
    play.add_argument("overrides", nargs="*", help="Hydra overrides: customer=, scorer=, ...")
    play.set_defaults(run=cmd_play)


def cmd_play(args: argparse.Namespace) -> int:
    import hydra

    from salesenv.agents import HumanSalesAgent
    from salesenv.evaluation import run_episode

    cfg = compose_config(["agent=[]", *args.overrides])
    customer = hydra.utils.instantiate(cfg.customer)
    scorer = instantiate_scorer(cfg, customer)
    env = salesenv.make(args.env, customer=customer, scorer=scorer, max_rounds=args.max_rounds)
    you = HumanSalesAgent(show_prompt=not args.no_prompt)
    print(f"{args.env} against the {customer.describe().get('model', 'persona')} customer.")
    print("You are the salesperson. The customer speaks first.\n")
    record = run_episode(env, you, seed=args.seed)
    env.close()
    last = record.transcript[-1]
    if last["role"] == "customer":
        print(f"customer> {last['text']}")
    if record.error:
        print(f"\nThe customer backend failed: {record.error}", file=sys.stderr)
        return 1
    score = record.score
    ended = "ended with a decision" if record.terminated else "ran out of turns"
    print(f"\nThe conversation {ended} after {record.rounds} of your turns.")
    print(f"Customer decision: {record.decision or 'none'} (difficulty {record.difficulty})")
    print(
        f"Intent {score['intent']:.1f} (level {score['intent_level']}), judge "
        f"{score['judge']:.1f}, final {score['final']:.2f} (profile {score['profile']}, "
        f"alpha {score['alpha']})"
    )
    if score["unfaithful_claims"]:
        print(f"Unsupported claims: {score['unfaithful_claims']}")
    return 0
