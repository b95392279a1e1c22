"""Conversation protocols: how an episode is counted, ended, prompted and scored.

Two protocols exist:

- `salesenv` (the default): `max_rounds` salesperson turns (20), the customer is told
  when it has the last word and must then decide, and the conversation ends when the
  customer decides (a decision tag, a narrow bilingual end cue, or the persona simulator's
  decision). Scored with the "paper" blend (alpha 0.5).
- `salesllm-official`: the public SalesLLM runner's rules. 20 *generated utterances*
  after the trigger sentence, the salesperson speaking first and the customer last (so 10
  salesperson turns); the customer is never told which turn is the last; the conversation
  ends as soon as a customer reply matches the runner's goodbye/refusal pattern (`END_RULE`,
  whatever the backend decided); a language line goes after both system prompts; the
  customer model sees the trigger as its own first turn; scored with alpha 0.6 and the
  intent classifier reading the last 128 tokens of the official flattening.

`docs/protocols.md` lists every difference and why `salesenv` is the default. This module
is a leaf: it imports nothing of salesenv's, so that the customers, the env and the
configs all read the rules from here.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

SALESENV = "salesenv"
SALESLLM_OFFICIAL = "salesllm-official"
#: What records written before protocols existed were played under.
DEFAULT_PROTOCOL = SALESENV

#: The public runner's end-of-conversation phrases (paper appendix and runner), in order.
#: A space stands for any run of whitespace, none included ("see you" matches "seeyou").
END_PHRASES = (
    "再见",
    "拜拜",
    "bye",
    "goodbye",
    "see you",
    "下次再说",
    "maybe next time",
    "先这样",
    "that's it for now",
    "不需要",
    "not needed",
    "不要",
    "I don't want it",
)


def _end_rule(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive pattern: any phrase between word boundaries.

    `\\b` is Python's Unicode word boundary, as in the official runner: Chinese characters
    are word characters, so a Chinese phrase counts only between punctuation, spaces or
    the ends of the reply ("好的，再见！" ends it, "好的再见" and "下次再说吧" do not).
    The apostrophes are the ASCII ones.
    """
    alternatives = (r"\s*".join(re.escape(word) for word in p.split()) for p in phrases)
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


#: The official end-of-conversation rule, applied to every customer reply.
END_RULE = _end_rule(END_PHRASES)


class UnknownProtocolError(ValueError):
    """A protocol name that salesenv does not know."""


class ProtocolWarning(UserWarning):
    """A setting that departs from the protocol an env plays (scores not comparable)."""


@dataclass(frozen=True)
class Protocol:
    """The rules of one protocol (see the module docstring).

    Attributes:
        name: "salesenv" or "salesllm-official".
        max_rounds: Salesperson turns per session when the env is not given `max_rounds`.
        max_utterances: Generated utterances the rule counts (trigger excluded), or None
            when the protocol counts salesperson turns.
        announces_last_turn: The customer is told which reply is its last and must decide.
        decisions_end: A customer decision ends the conversation.
        end_rule: A pattern that ends the conversation when a customer reply matches it.
        language_lines: A line appended to both system prompts, per language ({}: none).
        trigger_as_customer_turn: The customer model gets the trigger sentence as its own
            first (assistant) message instead of a line in its system prompt.
        scoring_profile: The blend (`salesenv.rewards.PROFILES`) the protocol scores with.
        intent_flattening: How the hf intent classifier reads the transcript.
        intent_max_tokens: Tokens of the transcript's end that the classifier reads.
    """

    name: str
    max_rounds: int
    max_utterances: int | None = None
    announces_last_turn: bool = True
    decisions_end: bool = True
    end_rule: re.Pattern[str] | None = None
    language_lines: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    trigger_as_customer_turn: bool = False
    scoring_profile: str = "paper"
    intent_flattening: str = "salesenv"
    intent_max_tokens: int = 128

    def ends(self, reply: str) -> bool:
        """Whether a customer reply ends the conversation by the protocol's end rule."""
        return self.end_rule is not None and self.end_rule.search(reply) is not None

    def with_language_line(self, system_prompt: str, language: str) -> str:
        """`system_prompt` with the protocol's language line (unchanged if it has none)."""
        line = self.language_lines.get(language)
        return f"{system_prompt}\n{line}" if line else system_prompt

    def scorer_settings(self) -> dict[str, Any]:
        """The scoring the protocol expects: the blend profile and the hf intent
        classifier's input (`flattening`, `max_tokens`)."""
        return {
            "profile": self.scoring_profile,
            "flattening": self.intent_flattening,
            "max_tokens": self.intent_max_tokens,
        }


#: The official runner's count: 20 generated utterances, both sides.
OFFICIAL_UTTERANCES = 20

PROTOCOLS: MappingProxyType[str, Protocol] = MappingProxyType(
    {
        SALESENV: Protocol(name=SALESENV, max_rounds=20),
        SALESLLM_OFFICIAL: Protocol(
            name=SALESLLM_OFFICIAL,
            # The salesperson speaks first after the trigger and the sides alternate, so an
            # even count is half salesperson turns, half customer replies, customer last.
            max_rounds=OFFICIAL_UTTERANCES // 2,
            max_utterances=OFFICIAL_UTTERANCES,
            announces_last_turn=False,
            decisions_end=False,
            end_rule=END_RULE,
            # Our own wording of the runner's "speak this language" instruction.
            language_lines=MappingProxyType(
                {"zh": "请全程用中文交流。", "en": "Please reply in English."}
            ),
            trigger_as_customer_turn=True,
            scoring_profile="salesllm-readme",
            intent_flattening="official",
            intent_max_tokens=128,
        ),
    }
)


def get_protocol(protocol: str | Protocol | None) -> Protocol:
    """The protocol a name stands for ("salesllm_official" and any case work too); None
    gives the default.

    Raises:
        UnknownProtocolError: If no protocol has that name; the message lists them.
    """
    if protocol is None:
        return PROTOCOLS[DEFAULT_PROTOCOL]
    if isinstance(protocol, Protocol):
        return protocol
    name = str(getattr(protocol, "value", protocol)).strip().lower().replace("_", "-")
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise UnknownProtocolError(
            f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}"
        ) from None


def protocol_of(record: dict[str, Any]) -> str:
    """The protocol an episode record or run manifest names ("salesenv" when it names
    none: results written before protocols existed)."""
    return str(record.get("protocol") or DEFAULT_PROTOCOL)


def unlike(protocol: Protocol, scorer: Any, max_rounds: int) -> list[str]:
    """How a scorer and a round limit depart from what `protocol` expects (empty: they
    match). Reads the scorer's `profile` and, for the hf intent scorer, its `flattening`
    and `max_tokens`; anything it cannot read is not checked."""
    found = []
    if max_rounds != protocol.max_rounds and protocol.max_utterances is not None:
        found.append(
            f"max_rounds={max_rounds} means {2 * max_rounds} generated utterances, the "
            f"protocol counts {protocol.max_utterances} ({protocol.max_rounds} salesperson turns)"
        )
    profile = getattr(getattr(scorer, "profile", None), "name", None)
    if profile is not None and profile != protocol.scoring_profile:
        found.append(
            f"the scorer blends with profile {profile!r}, the protocol with "
            f"{protocol.scoring_profile!r} (scoring.profile={protocol.scoring_profile})"
        )
    intent = getattr(scorer, "intent", None)
    if getattr(intent, "name", None) == "hf":
        for key in ("flattening", "max_tokens"):
            want = getattr(protocol, f"intent_{key}")
            have = getattr(intent, key, want)
            if have != want:
                found.append(
                    f"the hf intent scorer has {key}={have!r}, the protocol "
                    f"{want!r} (scorer.{key}={want})"
                )
    return found


def warn_if_unlike(protocol: Protocol, scorer: Any, max_rounds: int) -> None:
    """A `ProtocolWarning` when a non-default protocol is played with settings unlike its
    own (see `unlike`): its scores would not be comparable with the protocol's."""
    if protocol.name == DEFAULT_PROTOCOL:
        return
    found = unlike(protocol, scorer, max_rounds)
    if found:
        warnings.warn(
            f"protocol {protocol.name}: " + "; ".join(found) + ". Scores will not be "
            "comparable with the protocol's; use its settings (experiment=salesllm_official) "
            "or the default protocol.",
            ProtocolWarning,
            stacklevel=3,
        )
