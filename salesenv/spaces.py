"""A Gymnasium text space that accepts any Unicode string (Chinese, punctuation, emoji)."""

from __future__ import annotations

import string
from typing import Any

from gymnasium.spaces import Text

# Characters that `sample()` draws from: ASCII, common Chinese characters and punctuation.
SAMPLE_CHARSET = (
    string.ascii_letters
    + string.digits
    + string.punctuation
    + " "
    + "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可"
    + "，。！？、；：“”（）《》"
)


class UnicodeText(Text):
    """Any `str` of at most `max_length` characters.

    Gymnasium's `Text` checks every character against a fixed charset, which rejects
    Chinese and most punctuation; this space only checks the type and the length.
    `sample()` draws from `SAMPLE_CHARSET`.
    """

    def __init__(self, max_length: int, *, seed: Any = None) -> None:
        super().__init__(max_length=max_length, min_length=0, charset=SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText(max_length={self.max_length})"
