"""Follow-up sessions for the long-horizon env variant: the scenario of session k >= 2.

A follow-up scenario is the first session's scenario with both system prompts extended by a
clearly delimited EARLIER SESSIONS section (every earlier session's transcript and how it
ended, in the scenario's language) and a new opening line from the customer. The product,
persona and difficulty are unchanged, so the content hash (and the id) changes only
because the prompts do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from salesenv.dialogue import Decision, Dialogue
from salesenv.scenarios.scenario import Scenario

_TAGS = {
    "en": {"customer": "Customer", "salesperson": "Salesperson"},
    "zh": {"customer": "客户", "salesperson": "销售"},
}
_SEPARATOR = {"en": ": ", "zh": "："}
_OUTCOMES = {
    "en": {
        Decision.BUY: "the customer agreed to buy",
        Decision.MAYBE: "the customer said they might buy later",
        Decision.NO: "the customer said no",
        Decision.BRUSH_OFF: "the customer brushed the salesperson off",
        Decision.HOSTILE: "the customer ended the chat in anger",
        None: "the conversation ended without a decision",
    },
    "zh": {
        Decision.BUY: "客户同意购买",
        Decision.MAYBE: "客户说以后可能会买",
        Decision.NO: "客户明确拒绝了",
        Decision.BRUSH_OFF: "客户敷衍地结束了对话",
        Decision.HOSTILE: "客户生气地结束了对话",
        None: "对话没有得出结论",
    },
}
_SECTION = {
    "customer": {
        "en": "\n\n=== EARLIER SESSIONS (you remember them) ===\nYou have talked with this salesperson before. This is session {session} of at most {total}; some days have passed since the last one.\n{body}\n=== END OF EARLIER SESSIONS ===\nRemember what you asked, what worried you and what you were told. Do not ask again about what was already answered well, and do not change your mind without a new reason.",
        "zh": "\n\n=== 之前的沟通（你都记得） ===\n你之前和这位销售聊过。这是第{session}次沟通（最多{total}次），距离上次已经过去了几天。\n{body}\n=== 之前的沟通结束 ===\n记住你问过什么、担心过什么、对方是怎么回答的。已经答好的问题不要再问；没有新的理由，不要改变主意。",
    },
    "salesperson": {
        "en": "\n\n=== EARLIER SESSIONS with this customer ===\nThis is session {session} of at most {total}; some days have passed since the last one.\n{body}\n=== END OF EARLIER SESSIONS ===\nBuild on what was said: address the concerns that stopped the customer last time, and do not repeat yourself.",
        "zh": "\n\n=== 和这位客户之前的沟通 ===\n这是第{session}次沟通（最多{total}次），距离上次已经过去了几天。\n{body}\n=== 之前的沟通结束 ===\n在之前的基础上继续：针对上次让客户拒绝的顾虑，不要重复自己说过的话。",
    },
}
_SESSION_HEAD = {"en": "--- Session {k} ({outcome}) ---", "zh": "--- 第{k}次沟通（{outcome}）---"}
_MARKER = {"en": "[Session {k}] ", "zh": "【第{k}次沟通】"}
_OPENINGS = {
    "en": (
        "Hi, it's me again. We talked about {product} a few days ago. I said no then, but I've been thinking about it.",
        "Hello again. About {product}: I wasn't convinced last time, but I have a few minutes if you want to try again.",
        "Hi. You may remember me, I asked about {product} the other day. I still have my doubts, to be honest.",
    ),
    "zh": (
        "你好，又是我。前几天我们聊过{product}，当时我拒绝了，不过这几天我又想了想。",
        "你好，还是关于{product}。上次我没被说服，不过今天有点时间，你可以再说说。",
        "你好，你可能还记得我，前几天问过{product}。说实话，我现在还是有些顾虑。",
    ),
}


def session_marker(language: str, session: int) -> str:
    """The marker put before the first turn of a session in a long-horizon transcript."""
    return _MARKER[language].format(k=session)


def history_text(language: str, sessions: Sequence[Dialogue]) -> str:
    """Every earlier session as lines of "<role>: <utterance>", each under a header that
    says how the session ended."""
    tags, sep = _TAGS[language], _SEPARATOR[language]
    blocks = []
    for k, dialogue in enumerate(sessions, start=1):
        outcome = _OUTCOMES[language][dialogue.decision]
        lines = [_SESSION_HEAD[language].format(k=k, outcome=outcome)]
        lines += [f"{tags[t.role]}{sep}{t.text}" for t in dialogue.turns]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def history_section(
    language: str, viewer: str, sessions: Sequence[Dialogue], sessions_max: int
) -> str:
    """The EARLIER SESSIONS section appended to the customer's or the salesperson's prompt.

    Args:
        language: "zh" or "en".
        viewer: "customer" or "salesperson".
        sessions: The finished sessions, oldest first.
        sessions_max: The most sessions an episode can have.

    Raises:
        ValueError: On an unknown viewer or no earlier session.
    """
    if viewer not in _SECTION:
        raise ValueError(f"viewer must be 'customer' or 'salesperson', got {viewer!r}")
    if not sessions:
        raise ValueError("a follow-up needs at least one earlier session")
    return _SECTION[viewer][language].format(
        session=len(sessions) + 1, total=sessions_max, body=history_text(language, sessions)
    )


def followup_scenario(
    first: Scenario, sessions: Sequence[Dialogue], sessions_max: int, rng: np.random.Generator
) -> Scenario:
    """The scenario of the next session after `sessions`.

    Args:
        first: The first session's scenario (its prompts are extended, never the ones of a
            later session, so the history appears once).
        sessions: The finished sessions, oldest first.
        sessions_max: The most sessions an episode can have (written into the prompts).
        rng: Picks the customer's opening line.
    """
    lang = first.language
    name = first.product.name if first.product else {"en": "your product", "zh": "你们的产品"}[lang]
    openings = _OPENINGS[lang]
    trigger = openings[int(rng.integers(len(openings)))].format(product=name)
    return replace(
        first,
        customer_prompt=first.customer_prompt
        + history_section(lang, "customer", sessions, sessions_max),
        salesperson_prompt=first.salesperson_prompt
        + history_section(lang, "salesperson", sessions, sessions_max),
        trigger=trigger,
    )
