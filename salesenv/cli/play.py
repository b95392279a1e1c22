"""`salesenv play`: you are the salesperson, at the terminal."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

import salesenv
from salesenv.build import instantiate_scorer
from salesenv.cli.common import compose_config, count_option

PLAY_HELP = """\
You are the salesperson; the customer (the persona simulator, or any customer backend
given as a Hydra override such as customer=transformers customer.model=PATH) speaks first.

Controls: type your turn and press Enter (arrow keys and history work); an empty line is a
silent turn; Ctrl-D or /quit leaves the conversation (not scored); Ctrl-C stops at once.
When the customer decides or your turns run out, the intent, judge and final scores are
shown.
"""


def add_parser(commands: Any) -> None:
    """Adds `salesenv play` to the command parsers."""
    play = commands.add_parser(
        "play",
        help="be the salesperson at the terminal",
        description=PLAY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    play.add_argument(
        "--env", default="SalesLLM-en-medium", help="env id (default SalesLLM-en-medium)"
    )
    play.add_argument("--seed", type=int, help="scenario seed (default: random)")
    play.add_argument(
        "--max-rounds", type=count_option, help="your turns at most (default: the env's, 20)"
    )
    play.add_argument("--no-prompt", action="store_true", help="do not show the product sheet")
    play.add_argument("overrides", nargs="*", help="Hydra overrides: customer=, scorer=, ...")
    play.set_defaults(run=cmd_play)


def cmd_play(args: argparse.Namespace) -> int:
    import hydra

    from salesenv.agents import HumanSalesAgent
    from salesenv.agents.human import LeftConversation
    from salesenv.evaluation import run_episode

    _line_editing()
    cfg = compose_config(["agent=[]", *args.overrides])
    customer = hydra.utils.instantiate(cfg.customer)
    scorer = instantiate_scorer(cfg, customer)
    rounds = {} if args.max_rounds is None else {"max_rounds": args.max_rounds}
    env = salesenv.make(args.env, customer=customer, scorer=scorer, **rounds)
    you = HumanSalesAgent(show_prompt=not args.no_prompt)
    print(f"{args.env} against the {customer.describe().get('model', 'persona')} customer.")
    print("You are the salesperson. The customer speaks first. Ctrl-D or /quit leaves.\n")
    try:
        record = run_episode(env, you, seed=args.seed)
    except LeftConversation:
        print("\nYou left the conversation; it is not scored.")
        return 0
    finally:
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


def _line_editing() -> None:
    """Arrow keys, history and editing for `input()` where the platform has readline."""
    with contextlib.suppress(ImportError):  # e.g. Windows without pyreadline
        import readline  # noqa: F401 - importing it is what turns line editing on
