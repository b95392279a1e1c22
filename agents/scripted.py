"""A scripted bilingual salesperson: discovery, fact-based answers, objection handling, close."""

from __future__ import annotations

import re
from typing import Any

from salesenv.agents.base import product_facts
from salesenv.agents.restate import restate
from salesenv.cues import Lexicon, lexicon, tokens
from salesenv.scenarios.scenario import Fact

_LINES = {
    "zh": {
        "open": "您好！我是{product}的顾问。请问您主要想解决什么问题？您最看重哪些方面？",
        "greet": "您好！我是{product}的顾问。",
        "ask_needs": "请问您主要想解决什么问题？您最看重哪些方面？",
        "reopen": "欢迎您再来，谢谢您又考虑了一下。方便问一下，现在还有哪些顾虑让您拿不定主意？",
        "reopen_again": "谢谢您还愿意再聊一次。这次我想把您最在意的那一点说透，您觉得最不放心的是哪里？",
        "recommend": "您好！{category}这块，我推荐{product}。请问您主要想解决什么问题？您最看重哪些方面？",
        "answer": "好问题。{fact}。",
        "statement": "说到这个，{fact}。",
        "objection": "理解您的顾虑。{fact}。",
        "empathy": "理解您的顾虑。",
        "unknown_topic": "关于{topic}，资料里没有写，我不乱说，核实后给您回复。",
        "unknown_again": "{topic}这一点我确实还没有确切资料，核实后第一时间告诉您。",
        "instead": "我能确定的是：{fact}。",
        "point": "另外，{fact}。",
        "close": "如果这些符合您的需要，要不要我现在帮您办理？",
        "next_step": "不着急，我可以先把详细资料发给您，或者帮您预约一次详细讲解。",
        "more": "方便问一下，您还有哪些顾虑？",
        "more_again": "您最看重的几点我们都聊过了，还有哪里不放心吗？",
    },
    "en": {
        "open": "Hello! I'm the advisor for {product}. May I ask what matters most to you, and what you're hoping it will do for you?",
        "greet": "Hello! I'm the advisor for {product}.",
        "ask_needs": "May I ask what matters most to you, and what you're hoping it will do for you?",
        "reopen": "Welcome back, and thanks for giving it another thought. May I ask what is still holding you back?",
        "reopen_again": "Thank you for hearing me out once more. This time I'd like to settle the one point that worries you most: which one is it?",
        "recommend": "Hello! For {category}, I'd recommend {product}. May I ask what matters most to you, and what you're hoping it will do for you?",
        "answer": "Good question. {fact}.",
        "statement": "On that point: {fact}.",
        "objection": "I understand the concern. {fact}.",
        "empathy": "I understand the concern.",
        "unknown_topic": "On {topic}: that detail isn't in my materials, and I won't guess; I'll check and get back to you.",
        "unknown_again": "I still don't have a confirmed answer on {topic}, and I won't guess; I'll check and get back to you.",
        "instead": "What I can tell you is this: {fact}.",
        "point": "Also, {fact}.",
        "close": "If that fits what you need, shall we go ahead and get you started?",
        "next_step": "No rush. I can send you the full details, or book a consultation at a time that suits you.",
        "more": "May I ask what else is on your mind?",
        "more_again": "We've covered what matters most to you; is anything still holding you back?",
    },
}
_JOIN = {"zh": "", "en": " "}
_AND = {"zh": "和", "en": " and "}
_THIS = {"zh": "这一点", "en": "this"}
_QUESTION = re.compile(r"[^。！？!?\n]*(?:[?？]|吗)")
CLOSE_AFTER_ANSWERS = 3
CLOSE_EVERY = 3


class ScriptedSalesAgent:
    """Greets and asks about needs, answers each question with the unused fact of the
    factor asked about that shares most words with the question, handles objections with
    empathy and a fact, and asks for the close once a few concerns are answered (again
    every few turns) or as soon as the customer pauses without a question; when there is
    nothing to answer it volunteers a fact on a concern the customer named (else on a
    factor not covered yet), asks what else is on the customer's mind, then offers a
    concrete next step.

    The topic of a customer turn is what its questions ask about (sentences ending in
    "?" / "？" / "吗"), so a comment before the question does not change it. An opening
    that itself asks something gets its answer between the greeting and the needs
    question. When the product sheet has no fact on the topic it says so, naming the topic
    in the customer's words, never guesses, and offers the closest fact it does have; asked
    again, it says so in other words.

    Long-horizon follow-ups (`info["session"] > 1`): instead of greeting again it welcomes
    the customer back and asks what still holds them back; facts used in earlier sessions
    stay used, so it brings fresh ones first. Portfolios (`info["products"]`): it recommends
    the products whose category the customer's opening names (all of them: a bundle), or the
    first product when none is named, and answers with their facts only.

    It says facts in its own words (`salesenv.agents.restate`): the numbers, names and key
    terms of a fact, re-joined with its own connectives, never a span of the sheet long
    enough to count as copied (the salesperson's rules forbid pasting the product
    information; `salesenv.customers.turn_checks.COPY_THRESHOLD`).

    It uses only the salesperson's side of the scenario: the product sheet and the chat.

    Args:
        verbatim: Paste the fact text as the sheet words it (the behaviour before rubric
            judge v3; a rule violation that the judge penalises). Its name is then
            "scripted_verbatim". From the command line: `agent=scripted
            agents.scripted.verbatim=true`.
    """

    name = "scripted"

    def __init__(self, verbatim: bool = False) -> None:
        self.verbatim = verbatim
        if verbatim:
            self.name = "scripted_verbatim"

    def reset(self, info: dict[str, Any], seed: int | None = None) -> None:
        self.language = info["language"]
        self.product, self.facts, self.points = product_facts(info)
        self.products = info.get("products") or []
        self.names = tuple(p["name"] for p in self.products) or (self.product,)
        self.category = ""
        self.used: set[str] = set()
        self.unknown: set[str] = set()
        self.said: set[str] = set()
        self.answered = 0
        self.mentioned: set[str] = set()
        self.last_close = -CLOSE_EVERY

    def act(self, observation: str, info: dict[str, Any]) -> str:
        lang = self.language
        lines = _LINES[lang]
        lex = lexicon(lang)
        self.mentioned |= lex.factors_in(observation)
        if info["round"] == 0:
            if info.get("session", 1) > 1:
                return self._once(lines, "reopen", "reopen_again")
            if self.products:
                self._choose_products(observation)
                return lines["recommend"].format(product=self.product, category=self.category)
            asked = _asked_factors(observation, lex)
            if not asked and _is_question(observation):
                asked = lex.factors_in(observation)  # "any fitting product you'd suggest?"
            if not asked:
                return lines["open"].format(product=self.product)
            # The opening itself asks something: answer it before asking about needs.
            answer = self._answer(asked, observation, lines, lex, template="answer")
            self.answered += 1
            return _JOIN[lang].join(
                [lines["greet"].format(product=self.product), *answer, lines["ask_needs"]]
            )
        topics = _asked_factors(observation, lex) or lex.factors_in(observation)
        question = "?" in observation or "？" in observation
        parts = []
        paused = False
        if lex.has("customer_objection", observation):
            if topics and not self._has_fact(topics):
                parts.append(lines["empathy"])
                parts.extend(self._answer(topics, observation, lines, lex, template="objection"))
            else:
                fact = self._fact_for(topics, observation) or self._any_fact()
                if fact:
                    parts.append(lines["objection"].format(fact=self._say(fact)))
            self.answered += bool(parts)
        elif topics:
            parts.extend(
                self._answer(
                    topics, observation, lines, lex, template="answer" if question else "statement"
                )
            )
            self.answered += 1
        elif lex.has("customer_refusal", observation):
            parts.append(lines["next_step"])
        else:
            # No question, objection or refusal: the customer is mulling it over.
            paused = not question and self.answered > 0
            fact = self._any_fact()
            if fact:
                text = self._say(fact)
                point = _lower_first(text) if lang == "en" else text  # "另外，Brand是…"
                parts.append(lines["point"].format(fact=point))
        since_close = info["round"] - self.last_close
        if (self.answered >= CLOSE_AFTER_ANSWERS and since_close >= CLOSE_EVERY) or (
            paused and since_close > 1
        ):
            parts.append(lines["close"])
            self.last_close = info["round"]
        elif not parts:
            parts.append(self._once(lines, "more", "more_again", "next_step"))
        return _JOIN[lang].join(parts)

    def _answer(
        self,
        topics: frozenset[str],
        question: str,
        lines: dict[str, str],
        lex: Lexicon,
        template: str,
    ) -> list[str]:
        """Answers a question on `topics`: the fact of those factors that best matches the
        question's words; when the materials hold none, it says so naming the topic (in
        the customer's own words) and offers the closest fact it does have."""
        fact = self._fact_for(topics, question)
        if fact is not None:
            return [lines[template].format(fact=self._say(fact))]
        words = _topic_words(question, topics, lex) or [_THIS[self.language]]
        topic = _AND[self.language].join(words)
        key = "unknown_again" if topics <= self.unknown else "unknown_topic"
        self.unknown |= topics
        parts = [lines[key].format(topic=topic)]
        related = self._related_fact(question)
        if related is not None:
            parts.append(lines["instead"].format(fact=self._say(related)))
        return parts

    def _say(self, fact: Fact) -> str:
        """A fact as this agent says it: in its own words, or as written when `verbatim`."""
        text = _bare(fact.text)
        return text if self.verbatim else restate(text, self.language, self.names)

    def _choose_products(self, opening: str) -> None:
        """Picks the products of the category the customer asked about (a portfolio)."""
        low = opening.lower()
        chosen = [p for p in self.products if p["category_name"].lower() in low]
        chosen = chosen or self.products[:1]
        self.category = chosen[0]["category_name"]
        self.product = _AND[self.language].join(p["name"] for p in chosen)
        self.facts = tuple(Fact(f["factor"], f["text"]) for p in chosen for f in p["facts"])

    def _once(self, lines: dict[str, str], *keys: str) -> str:
        """The first of `keys` not said yet in this conversation (the last one repeats)."""
        for key in keys:
            if key not in self.said:
                self.said.add(key)
                return lines[key]
        return lines[keys[-1]]

    def _has_fact(self, factors: frozenset[str]) -> bool:
        return any(f.factor in factors for f in self.facts)

    def _fact_for(self, factors: frozenset[str], question: str = "") -> Fact | None:
        """The fact of `factors` sharing the most words with the question (unused ones
        first, then in sheet order), or None when the sheet has no fact of them."""
        candidates = [f for f in self.facts if f.factor in factors]
        fresh = [f for f in candidates if f.text not in self.used] or candidates
        return self._use_closest(fresh, question)

    def _related_fact(self, question: str) -> Fact | None:
        """An unused fact sharing words with the question, else the next unused fact."""
        return self._use_closest([f for f in self.facts if f.text not in self.used], question)

    def _use_closest(self, facts: list[Fact], question: str) -> Fact | None:
        """The first of `facts` sharing the most words with the question, marked used; None
        when there is none."""
        if not facts:
            return None
        asked = tokens(question, self.language)
        fact = max(facts, key=lambda f: len(tokens(f.text, self.language) & asked))
        self.used.add(fact.text)
        return fact

    def _any_fact(self) -> Fact | None:
        """The next unused fact to volunteer: one on a concern the customer has named and
        no fact has covered yet, else one on a factor not covered yet, else the next one."""
        fresh = [f for f in self.facts if f.text not in self.used]
        if not fresh:
            return None
        covered = {f.factor for f in self.facts if f.text in self.used}
        fact = next(
            (f for f in fresh if f.factor in self.mentioned and f.factor not in covered),
            next((f for f in fresh if f.factor not in covered), fresh[0]),
        )
        self.used.add(fact.text)
        return fact


def _asked_factors(text: str, lex: Lexicon) -> frozenset[str]:
    """The factors the questions of a customer turn are about (its sentences ending in
    "?" / "？" or holding "吗"), so that a reaction before the question ("that's fair. ...") does not
    change the topic; empty when no question names one."""
    return frozenset().union(*(lex.factors_in(q) for q in _QUESTION.findall(text)))


def _is_question(text: str) -> bool:
    return "?" in text or "？" in text or "吗" in text


def _topic_words(text: str, factors: frozenset[str], lex: Lexicon) -> list[str]:
    """The customer's own words for `factors` (one per factor, in order of mention)."""
    words: dict[str, str] = {}
    for match in lex.factor_pattern.finditer(text.lower()):
        factor = lex.factor_of[match.group(0)]
        if factor in factors:
            words.setdefault(factor, match.group(0))
    return list(words.values())


def _bare(text: str) -> str:
    return text.rstrip("。.!！ ")


def _lower_first(text: str) -> str:
    """Lower-cases a leading capital so the text can follow "Also, " (keeps acronyms)."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text
