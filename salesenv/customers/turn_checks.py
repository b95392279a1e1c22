"""Checks of one salesperson turn: tricks, wrong language, unsupported claims, pressure,
repetition, verbatim copying of the product information, and which decision factors it
restates with facts.

One home for what the persona customer reacts to and what the rubric judge scores, so that
both read a turn the same way. Pure functions of the text, the product sheet and the
earlier turns: callers keep their own history and decide what each finding costs.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from salesenv.cues import FactSheet, in_language, is_trick, lexicon, repeats, tokens
from salesenv.scenarios.official_product import KEYS, product_section
from salesenv.scenarios.portfolio_scenarios import PortfolioScenario
from salesenv.scenarios.scenario import Scenario

#: The shortest span, in units (`copy_units`), that a salesperson turn may share with the
#: product information before it counts as copied: English words, Chinese characters.
#:
#: Chosen on the product sheets of the built-in suite (salesllm-1805, 122 products per
#: language), so that pasting a fact or a selling point reaches it and reusing a term
#: does not. English: 99% of facts and 87% of selling points are 8 words or longer (median
#: 15 and 10), while the terms a salesperson naturally reuses are shorter: "30-day free
#: returns" is 4 words, an index name like "the CSI Dividend Low Volatility Index" 6, and
#: 72% of product names are under 8 words. Chinese: 96% of facts and 66% of selling points
#: are 12 characters or longer (median 19 and 13), while "24小时内发货" is 6 units,
#: "30天无理由退货" 7, an index name like "中证红利低波动指数" 9 and a term with its verb
#: ("跟踪中证红利低波动指数") 11. A digit or Latin run counts as one unit in Chinese.
COPY_THRESHOLD = {"en": 8, "zh": 12}

_CJK_CHAR = r"[\u3400-\u9fff\uf900-\ufaff]"
_UNIT = {
    "en": re.compile(r"[a-z0-9]+", re.I),
    "zh": re.compile(rf"{_CJK_CHAR}|[a-z0-9]+", re.I),
}
#: "Product name: X", "价格：…": heading rows of a prompt's product section, not facts.
_LABEL_ROW = re.compile(r"^[ \t*#>•·-]*(?P<key>[^:：\n]{1,24})[:：]")
_HEADING_ROLES = frozenset({"name", "category", "categories", "price", "store"})


def copy_units(text: str, language: str) -> list[str]:
    """The units spans are measured in: lower-cased words (en) or CJK characters with each
    digit or Latin run as one unit (zh); whitespace and punctuation are dropped, full-width
    forms folded (NFKC), so that neither spacing nor punctuation hides a copy."""
    return _UNIT[language].findall(unicodedata.normalize("NFKC", text).lower())


def unit_spans(text: str, language: str) -> list[tuple[int, int, str]]:
    """The units of `text` as `copy_units` reads them (lower-cased, without the NFKC fold),
    each with its start and end offset in `text`, for callers that rewrite text by unit."""
    return [(m.start(), m.end(), m.group().lower()) for m in _UNIT[language].finditer(text)]


class CopyIndex:
    """The product information of one scenario, indexed to find the longest span a turn
    shares with it (a suffix automaton over its units, built once).

    Args:
        language: The scenario's language ("zh" or "en").
        sources: The texts a salesperson must not paste (facts, selling points); a span
            never runs from one source into the next.
        threshold: The span length that counts as copied (default `COPY_THRESHOLD`).
        names: Names a salesperson says anyway (the product's): where a source holds one
            or a part of one (`name_runs`), a span ends there, so saying the name is never
            a copy however long it is (official product names reach 19 characters), while
            pasting the words around it still is.
    """

    def __init__(
        self,
        language: str,
        sources: Iterable[str],
        threshold: int | None = None,
        names: Iterable[str] = (),
    ) -> None:
        self.language = language
        self.threshold = COPY_THRESHOLD[language] if threshold is None else threshold
        self.sources = tuple(s for s in sources if s and s.strip())
        name_units = [u for u in (copy_units(n, language) for n in names) if u]
        # Suffix automaton: per state, its transitions, suffix link and longest length.
        self._next: list[dict[str, int]] = [{}]
        self._link = [-1]
        self._len = [0]
        last = 0
        for i, source in enumerate(self.sources):
            for j, piece in enumerate(
                _without_names(copy_units(source, language), name_units, language)
            ):
                for unit in [*piece, f"\x00{i}.{j}"]:
                    last = self._extend(last, unit)

    def _extend(self, last: int, unit: str) -> int:
        nxt, link, length = self._next, self._link, self._len
        cur = len(length)
        nxt.append({})
        length.append(length[last] + 1)
        link.append(0)
        p = last
        while p != -1 and unit not in nxt[p]:
            nxt[p][unit] = cur
            p = link[p]
        if p != -1:
            q = nxt[p][unit]
            if length[p] + 1 == length[q]:
                link[cur] = q
            else:
                clone = len(length)
                nxt.append(dict(nxt[q]))
                length.append(length[p] + 1)
                link.append(link[q])
                while p != -1 and nxt[p].get(unit) == q:
                    nxt[p][unit] = clone
                    p = link[p]
                link[q] = link[cur] = clone
        return cur

    def longest_span(self, text: str) -> int:
        """The length (in units) of the longest span `text` shares with the sources."""
        nxt, link, length = self._next, self._link, self._len
        state = matched = best = 0
        for unit in copy_units(text, self.language):
            while state and unit not in nxt[state]:
                state = link[state]
                matched = length[state]
            if unit in nxt[state]:
                state = nxt[state][unit]
                matched += 1
                best = max(best, matched)
        return best

    def copied(self, text: str) -> bool:
        """Whether `text` shares a span of at least `threshold` units with the sources."""
        return self.longest_span(text) >= self.threshold


#: The shortest run of a product name's units, in a source, that counts as the name
#: (a shortened name: "紧凑型垂直气雾培草本花园" for "紧凑型垂直气雾培草本花园套件"): half
#: the copy threshold, so that a generic term inside a name ("frost-free", "降噪") still
#: counts towards a copy of the words around it.
NAME_RUN = {"en": 4, "zh": 6}


def name_runs(units: list[str], names: list[list[str]], shortest: int) -> list[tuple[int, int]]:
    """The (start, end) of each run of `units`, of `shortest` units or more, that is a
    contiguous part of one of `names`, taken greedily from the left, longest first."""
    runs, i = [], 0
    while i < len(units):
        best = 0
        for name in names:
            for j in range(len(name)):
                k = 0
                while i + k < len(units) and j + k < len(name) and units[i + k] == name[j + k]:
                    k += 1
                best = max(best, k)
        if best >= shortest:
            runs.append((i, i + best))
            i += best
        else:
            i += 1
    return runs


def _without_names(units: list[str], names: list[list[str]], language: str) -> list[list[str]]:
    """`units` cut into the pieces between the runs that name the product (`name_runs`)."""
    pieces, start = [], 0
    for begin, end in name_runs(units, names, NAME_RUN[language]):
        pieces.append(units[start:begin])
        start = end
    pieces.append(units[start:])
    return [p for p in pieces if p]


@functools.lru_cache(maxsize=4096)
def copy_index(scenario: Scenario) -> CopyIndex:
    """The product information of a scenario as a `CopyIndex` (cached per scenario): the
    facts and selling points of its product (of every product in a portfolio's prompt),
    or, for a scenario loaded from prompts only, the rows of its salesperson prompt's
    product section, without the heading rows (name, category, price, store), whose
    names a salesperson says anyway. Product names never count towards a copy
    (`CopyIndex`'s `names`)."""
    if isinstance(scenario, PortfolioScenario):
        products = [item.product for item in scenario.items]
    elif scenario.product is not None:
        products = [scenario.product]
    else:
        section = product_section(scenario.salesperson_prompt) or scenario.salesperson_prompt
        return CopyIndex(scenario.language, _fact_rows(section))
    sources = [t for p in products for t in (*(f.text for f in p.facts), *p.selling_points)]
    return CopyIndex(scenario.language, sources, names=[p.name for p in products])


def _fact_rows(section: str) -> Sequence[str]:
    rows = []
    for line in section.splitlines():
        label = _LABEL_ROW.match(line)
        key = re.sub(r"[\s_\-*`'\"]+", "", label.group("key").lower()) if label else ""
        if KEYS.get(key) not in _HEADING_ROLES:
            rows.append(line)
    return rows


@dataclass(frozen=True)
class TurnChecks:
    """What one salesperson turn does, read against the product information.

    Attributes:
        tokens: The turn's content tokens (see `salesenv.cues.tokens`); add them to the
            history of earlier turns to catch later repetitions.
        grounded: Decision factors whose facts the turn restates (`FactSheet.grounded_factors`).
        trick: A prompt-injection or role-play trick (either language).
        wrong_language: Text not in the scenario's language (blank text is not).
        invented: Numbers the product information does not contain.
        overpromise: Guarantee wording the product information does not assert.
        concession: Discounts, waivers or gifts beyond the product information.
        pressure: Pressure wording ("only today", "马上").
        repetition: The turn repeats one of the earlier turns.
        copied_span: The longest span (words in en, characters in zh) the turn shares with
            the product information (`CopyIndex.longest_span`; 0 when not checked).
        copied: The turn pastes the product information: `copied_span` reaches
            `COPY_THRESHOLD`. The salesperson's rules forbid quoting it verbatim.
    """

    tokens: frozenset[str]
    grounded: set[str]
    trick: bool
    wrong_language: bool
    invented: bool
    overpromise: bool
    concession: bool
    pressure: bool
    repetition: bool
    copied_span: int = 0
    copied: bool = False

    @property
    def unsupported_claim(self) -> bool:
        """Whether the turn claims a number, guarantee or concession the product lacks."""
        return self.invented or self.overpromise or self.concession


def check_turn(
    text: str,
    language: str,
    sheet: FactSheet,
    earlier: list[frozenset[str]],
    copies: CopyIndex | None = None,
) -> TurnChecks:
    """Reads one salesperson turn.

    Args:
        text: The salesperson's utterance.
        language: The scenario's language ("zh" or "en").
        sheet: The product information the turn's claims are checked against.
        earlier: Token sets of the salesperson's earlier turns (for repetition).
        copies: The product information's `CopyIndex` (`copy_index(scenario)`), to check
            for verbatim copying; None skips the check.

    Returns:
        The findings; the function changes nothing.
    """
    toks = tokens(text, language)
    span = copies.longest_span(text) if copies is not None else 0
    return TurnChecks(
        tokens=toks,
        grounded=sheet.grounded_factors(toks),
        trick=is_trick(text),
        wrong_language=bool(text.strip()) and not in_language(text, language),
        invented=bool(sheet.unsupported_numbers(text)),
        overpromise=bool(sheet.unsupported_guarantees(text)),
        concession=bool(sheet.unsupported_concessions(text)),
        pressure=lexicon(language).has("pressure", text),
        repetition=repeats(toks, earlier),
        copied_span=span,
        copied=copies is not None and span >= copies.threshold,
    )
