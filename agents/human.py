"""A person at the terminal plays the salesperson."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: What a person types to leave the conversation (Ctrl-D does the same).
QUIT_WORDS = ("/quit", "/exit")


class LeftConversation(Exception):
    """The person left the conversation (Ctrl-D or /quit) before it ended."""


class HumanSalesAgent:
    """Shows the customer's lines and reads the salesperson's from the terminal.

    An empty line is a silent turn; Ctrl-D (end of input) or `/quit` leaves the
    conversation by raising `LeftConversation`.

    Args:
        read: Reads one line (default `input`); tests pass a scripted reader.
        write: Shows one line (default `print`).
        show_prompt: Show the salesperson's system prompt (the product information) first.
    """

    name = "human"

    def __init__(
        self,
        read: Callable[[str], str] = input,
        write: Callable[[str], None] = print,
        show_prompt: bool = True,
    ) -> None:
        self.read = read
        self.write = write
        self.show_prompt = show_prompt

    def reset(self, info: dict[str, Any], seed: int | None = None) -> None:
        if self.show_prompt:
            self.write(info["system_prompt"])
            self.write("-" * 60)

    def act(self, observation: str, info: dict[str, Any]) -> str:
        self.write(f"customer> {observation}")
        try:
            line = self.read("you> ")
        except EOFError:
            raise LeftConversation from None
        if line.strip().lower() in QUIT_WORDS:
            raise LeftConversation
        return line
