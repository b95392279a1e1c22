"""A scripted bilingual salesperson: discovery, fact-based answers, objection handling, close."""

from __future__ import annotations

from typing import Any

from salesenv.agents.base import product_facts
from salesenv.cues import lexicon
from salesenv.scenarios.scenario import Fact

_LINES = {
    "zh": {
        "open": "您好！我是{product}的顾问。请问您主要想解决什么问题？您最看重哪些方面？",
        "reopen": "欢迎您再来，谢谢您又考虑了一下。方便问一下，现在还有哪些顾虑让您拿不定主意？",
        "reopen_again": "谢谢您还愿意再聊一次。这次我想把您最在意的那一点说透，您觉得最不放心的是哪里？",
        "recommend": "您好！{category}这块，我推荐{product}。请问您主要想解决什么问题？您最看重哪些方面？",
        "answer": "好问题。{fact}。",
        "statement": "说到这个，{fact}。",
        "objection": "理解您的顾虑。{fact}。",
        "unknown": "这一点资料里没有写，我不乱说，核实后给您回电。",
        "point": "另外，{fact}。",
        "close": "如果这些符合您的需要，要不要我现在帮您办理？",
        "next_step": "不着急，我可以先把详细资料发给您，或者帮您预约一次详细讲解。",
        "more": "方便问一下，您还有哪些顾虑？",
        "more_again": "您最看重的几点我们都聊过了，还有哪里不放心吗？",
    },
    "en": {
        "open": "Hello! I'm the advisor for {product}. May I ask what matters most to you, and what you're hoping it will do for you?",
        "reopen": "Welcome back, and thanks for giving it another thought. May I ask what is still holding you back?",
        "reopen_again": "Thank you for hearing me out once more. This time I'd like to settle the one point that worries you most: which one is it?",
        "recommend": "Hello! For {category}, I'd recommend {product}. May I ask what matters most to you, and what you're hoping it will do for you?",
        "answer": "Good question. {fact}.",
        "statement": "On that point: {fact}.",
        "objection": "I understand the concern. {fact}.",
        "unknown": "That detail isn't in my materials, and I won't guess; I'll check and call you back.",
        "point": "Also, {fact}.",
        "close": "If that fits what you need, shall we go ahead and get you started?",
        "next_step": "No rush. I can send you the full details, or book a consultation at a time that suits you.",
        "more": "May I ask what else is on your mind?",
        "more_again": "We've covered what matters most to you; is anything still holding you back?",
    },
}
_JOIN = {"zh": "", "en": " "}
_AND = {"zh": "和", "en": " and "}
CLOSE_AFTER_ANSWERS = 3
CLOSE_EVERY = 3


class ScriptedSalesAgent:
    """Greets and asks about needs, answers each question with an unused fact of the factor
    asked about (or admits once that the materials do not say), handles objections with
    empathy and a fact, and asks for the close once a few concerns are answered (again
    every few turns); when there is nothing to answer it asks what else is on the
    customer's mind, then offers a concrete next step.

    Long-horizon follow-ups (`info["session"] > 1`): instead of greeting again it welcomes
    the customer back and asks what still holds them back; facts used in earlier sessions
    stay used, so it brings fresh ones first. Portfolios (`info["products"]`): it recommends
    the products whose category the customer's opening names (all of them: a bundle), or the
    first product when none is named, and answers with their facts only.

    It uses only the salesperson's side of the scenario: the product sheet and the chat.
    """

    name = "scripted"

    def reset(self, info: dict[str, Any], seed: int | None = None) -> None:
        self.language = info["language"]
        self.product, self.facts, self.points = product_facts(info)
        self.products = info.get("products") or []
        self.category = ""
        self.used: set[str] = set()
        self.unknown: set[str] = set()
        self.said: set[str] = set()
        self.answered = 0
        self.last_close = -CLOSE_EVERY

    def act(self, observation: str, info: dict[str, Any]) -> str:
        lang = self.language
        lines = _LINES[lang]
        if info["round"] == 0:
            if info.get("session", 1) > 1:
                return self._once(lines, "reopen", "reopen_again")
            if self.products:
                self._choose_products(observation)
                return lines["recommend"].format(product=self.product, category=self.category)
            return lines["open"].format(product=self.product)
        lex = lexicon(lang)
        topics = lex.factors_in(observation)
        question = "?" in observation or "？" in observation
        parts = []
        if lex.has("customer_objection", observation):
            fact = self._fact_for(topics) or self._any_fact()
            if fact:
                parts.append(lines["objection"].format(fact=_bare(fact.text)))
                self.answered += 1
        elif topics:
            fact = self._fact_for(topics)
            if fact is None and not topics <= self.unknown:
                self.unknown |= topics
                parts.append(lines["unknown"])
            else:
                fact = fact or self._any_fact()
                if fact:
                    template = lines["answer"] if question else lines["statement"]
                    parts.append(template.format(fact=_bare(fact.text)))
            self.answered += 1
        elif lex.has("customer_refusal", observation):
            parts.append(lines["next_step"])
        else:
            fact = self._any_fact()
            if fact:
                parts.append(lines["point"].format(fact=_lower_first(_bare(fact.text))))
        if self.answered >= CLOSE_AFTER_ANSWERS and info["round"] - self.last_close >= CLOSE_EVERY:
            parts.append(lines["close"])
            self.last_close = info["round"]
        elif not parts:
            parts.append(self._once(lines, "more", "more_again", "next_step"))
        return _JOIN[lang].join(parts)

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

    def _fact_for(self, factors: frozenset[str]) -> Fact | None:
        candidates = [f for f in self.facts if f.factor in factors]
        fresh = [f for f in candidates if f.text not in self.used]
        fact = (fresh or candidates or [None])[0]
        if fact:
            self.used.add(fact.text)
        return fact

    def _any_fact(self) -> Fact | None:
        fresh = [f for f in self.facts if f.text not in self.used]
        if not fresh:
            return None
        self.used.add(fresh[0].text)
        return fresh[0]


def _bare(text: str) -> str:
    return text.rstrip("。.!！ ")


def _lower_first(text: str) -> str:
    """Lower-cases a leading capital so the text can follow "Also, " (keeps acronyms)."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text
