"""Removes a reasoning model's `<think>` blocks from its output.

Qwen3-family models (the released customer model among them) may write their reasoning
between `<think>` and `</think>` before the answer. The backends turn thinking off by
default (`chat_template_kwargs={"enable_thinking": False}`), but a template that ignores
the switch, a server that drops it, or a user who turns it on still yields such blocks.
Every place that reads a model's text (the customer's reply, the LLM salesperson's turn,
an LLM grader's answer) passes it through `strip_thinking` first, so that reasoning never
enters a conversation or a grader's parse, and counts what it removed.
"""

from __future__ import annotations

import re

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

#: The flag counted for every generation that had reasoning removed.
THINKING_FLAG = "thinking_stripped"

_CLOSED = re.compile(r"<think>.*?</think>", re.S | re.I)
_UP_TO_CLOSE = re.compile(r"^.*</think>", re.S | re.I)
_FROM_OPEN = re.compile(r"<think>.*$", re.S | re.I)


def strip_thinking(text: str) -> tuple[str, int]:
    """The text without its reasoning, and how many pieces of reasoning were removed.

    Removed, in this order: every closed `<think>...</think>` block; everything up to a
    `</think>` left without its opening tag (templates that open the block in the prompt,
    or a stray tag); an unclosed `<think>...` to the end (a generation cut off by its
    token budget while thinking). Text without a tag comes back unchanged.

    Args:
        text: A model's raw output.

    Returns:
        (text, removed): the answer (stripped of surrounding whitespace when anything was
        removed; "" when the output was all reasoning) and the number of pieces removed.
    """
    if "<" not in text:
        return text, 0
    text, removed = _CLOSED.subn("", text)
    text, orphan = _UP_TO_CLOSE.subn("", text)
    text, cut = _FROM_OPEN.subn("", text)
    removed += orphan + cut
    return (text.strip(), removed) if removed else (text, 0)
