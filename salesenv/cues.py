"""Reads utterances: bilingual cue lexicons, language checks, tokens and fact grounding.

Shared by the persona customer (to react), the rubric judge (to score) and the scripted
agents (to answer), so that all of them read text the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import yaml

CUE_NAMES = (
    "pressure",
    "guarantee",
    "concession",
    "trick",
    "discovery",
    "close",
    "next_step",
    "empathy",
    "greeting",
    "seller_role",
    "customer_agree",
    "customer_objection",
    "customer_refusal",
    "honest_unknown",
    "end_buy",
    "end_maybe",
    "end_no",
    "end_brush_off",
    "end_hostile",
)

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_EN_WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_NUMBER = re.compile(
    r"(?<![0-9A-Za-z.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(%|％|元|块|万|亿|美元|dollars?|usd|cny|rmb)?",
    re.I,
)
_NEGATION = {
    "zh": re.compile(r"(?:不|非|无|没有|未|并非|不是|不能|不会)\s*$"),
    "en": re.compile(
        r"(?<![a-z])(?:not|no|never|isn't|aren't|without|non|cannot|can't|nothing is)[\s-]+(?:[a-z]+[\s-]+)?$"
    ),
}
_CURRENCY_PREFIX = re.compile(r"[$¥￥£€]\s*$")
_STOPWORDS = frozenset(
    """
    the a an and or but of to in on for with at by from is are was were be been it its this
    that these those you your we our they their i me my he she his her as so if than then
    there here can will would could should may might do does did have has had not no yes
    all any some very just also more most less per up out about into over after before what
    which who how when where why
    """.split()
)


def _compile(words: Iterable[str], language: str) -> re.Pattern[str] | None:
    words = sorted(
        {w.strip().lower() for w in words if w and w.strip()}, key=lambda w: (-len(w), w)
    )
    if not words:
        return None
    body = "|".join(re.escape(w) for w in words)
    if language == "en":
        return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")
    return re.compile(body)


@dataclass(frozen=True)
class Lexicon:
    """Compiled cue patterns for one language."""

    language: str
    factor_pattern: re.Pattern[str]
    factor_of: dict[str, str]
    cues: dict[str, re.Pattern[str] | None]

    def factors_in(self, text: str) -> frozenset[str]:
        """The decision factors an utterance talks about."""
        # One scan with every factor's keywords; each keyword belongs to one factor.
        return frozenset(
            self.factor_of[m.group(0)] for m in self.factor_pattern.finditer(text.lower())
        )

    def ordered_factors(self, text: str) -> tuple[str, ...]:
        """The decision factors an utterance talks about, in the order it first names them."""
        seen: dict[str, None] = {}
        for match in self.factor_pattern.finditer(text.lower()):
            seen.setdefault(self.factor_of[match.group(0)], None)
        return tuple(seen)

    def ranked_factors(self, text: str) -> tuple[str, ...]:
        """The decision factors an utterance talks about, the one named by its longest
        (most specific) keyword first, then the others in the order they appear."""
        hits = [
            (-len(m.group(0)), m.start(), self.factor_of[m.group(0)])
            for m in self.factor_pattern.finditer(text.lower())
        ]
        if not hits:
            return ()
        first = min(hits)[2]
        return (first, *(f for f in self.ordered_factors(text) if f != first))

    def has(self, cue: str, text: str) -> bool:
        """Whether `text` contains a cue of the named kind (see `CUE_NAMES`)."""
        pattern = self.cues[cue]
        return bool(pattern and pattern.search(text.lower()))

    def asserted(self, cue: str, text: str) -> frozenset[str]:
        """The cue words of a kind that `text` uses without negating them.

        "guaranteed returns" asserts "guaranteed"; "returns are not guaranteed" and
        "不保本" do not assert a guarantee.
        """
        pattern = self.cues[cue]
        if pattern is None:
            return frozenset()
        low = text.lower()
        negation = _NEGATION[self.language]
        return frozenset(
            m.group(0)
            for m in pattern.finditer(low)
            if not negation.search(low[max(0, m.start() - 14) : m.start()])
        )


@functools.cache
def lexicon(language: str) -> Lexicon:
    """The cue lexicon of a language ("zh" or "en"), loaded once per process."""
    path = resources.files("salesenv") / "data" / "cues.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    factor_of: dict[str, str] = {}
    for factor, words in data["factors"].items():
        for word in words[language]:
            factor_of.setdefault(word.strip().lower(), factor)
    cues = {name: _compile(data.get(name, {}).get(language, ()), language) for name in CUE_NAMES}
    return Lexicon(language, _compile(factor_of, language), factor_of, cues)


def is_trick(text: str) -> bool:
    """Whether `text` tries a prompt-injection or role-play trick, in either language.

    Checked in both languages because an injection aimed at a model works in any language.
    """
    return lexicon("zh").has("trick", text) or lexicon("en").has("trick", text)


def cjk_share(text: str) -> float:
    """The share of CJK characters among the letters of `text` (0 when it has none)."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    return cjk / (cjk + latin / 4) if cjk + latin else 0.0


def in_language(text: str, language: str) -> bool:
    """Whether `text` is plausibly written in `language`; texts without letters pass."""
    share = cjk_share(text)
    if not _CJK.search(text) and not _LATIN.search(text):
        return True
    return share >= 0.3 if language == "zh" else share < 0.2


def tokens(text: str, language: str) -> frozenset[str]:
    """Content tokens for overlap measures: words (en) or character bigrams (zh), plus numbers."""
    low = text.lower()
    found = {
        w for w in _EN_WORD.findall(low) if w not in _STOPWORDS and (len(w) > 2 or w.isdigit())
    }
    if language == "zh":
        for run in _CJK_RUN.findall(low):
            found.update(run[i : i + 2] for i in range(len(run) - 1))
            if len(run) == 1:
                found.add(run)
    return frozenset(found)


#: Token Jaccard at which a salesperson turn counts as repeating an earlier one.
REPEAT_JACCARD = 0.7


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two token sets (0 when both are empty)."""
    return len(a & b) / len(a | b) if a or b else 0.0


def repeats(turn_tokens: frozenset[str], earlier: list[frozenset[str]]) -> bool:
    """Whether a turn of at least 3 tokens repeats one of the `earlier` turns
    (token Jaccard >= `REPEAT_JACCARD`)."""
    return len(turn_tokens) >= 3 and any(
        jaccard(turn_tokens, old) >= REPEAT_JACCARD for old in earlier
    )


def claimed_numbers(text: str) -> set[str]:
    """Numbers that read as claims: percentages, money, decimals and numbers above 12.

    Small bare integers ("two options", "3 questions") are not treated as claims.
    """
    claims = set()
    for match in _NUMBER.finditer(text):
        whole, frac, unit = match.group(1), match.group(2) or "", match.group(3)
        value = whole.replace(",", "") + frac
        money = bool(_CURRENCY_PREFIX.search(text[: match.start()]))
        if unit or money or frac or int(whole.replace(",", "")) > 12:
            claims.add(value)
    return claims


@dataclass(frozen=True)
class FactSheet:
    """What the product information supports, prepared for fast grounding checks.

    Args:
        language: The scenario's language.
        facts: (factor, text) pairs of the product's facts.
        reference_text: All product information (price, facts, selling points); numbers and
            guarantee or concession wording asserted here count as supported.
    """

    language: str
    facts: tuple[tuple[str, frozenset[str]], ...]
    numbers: frozenset[str]
    guarantees: frozenset[str]
    concessions: frozenset[str]

    @classmethod
    def build(
        cls, language: str, facts: Iterable[tuple[str, str]], reference_text: str
    ) -> FactSheet:
        lex = lexicon(language)
        return cls(
            language=language,
            facts=tuple((factor, tokens(text, language)) for factor, text in facts),
            numbers=frozenset(claimed_numbers(reference_text)),
            guarantees=lex.asserted("guarantee", reference_text),
            concessions=lex.asserted("concession", reference_text),
        )

    def grounded_factors(
        self, utterance_tokens: frozenset[str], threshold: float = 0.34
    ) -> set[str]:
        """Factors of the facts that an utterance restates (token containment >= threshold)."""
        hits = set()
        for factor, fact_tokens in self.facts:
            if not fact_tokens:
                continue
            shared = len(fact_tokens & utterance_tokens)
            if shared >= 2 and shared / len(fact_tokens) >= threshold:
                hits.add(factor)
        return hits

    def unsupported_guarantees(self, text: str) -> frozenset[str]:
        """Guarantee wording that `text` asserts and the product information does not."""
        return lexicon(self.language).asserted("guarantee", text) - self.guarantees

    def unsupported_concessions(self, text: str) -> frozenset[str]:
        """Concessions (discounts, waivers, gifts) that `text` offers beyond the product information."""
        return lexicon(self.language).asserted("concession", text) - self.concessions

    def unsupported_numbers(self, text: str, also_allowed: Iterable[str] = ()) -> set[str]:
        """Numbers claimed in `text` that the product information does not contain."""
        return claimed_numbers(text) - self.numbers - set(also_allowed)
