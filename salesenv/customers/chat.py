"""The customer side of a chat with a language model, shared by every LLM backend.

Written once for all backends: the customer's messages (its script as the system prompt,
with the role flip that makes the salesperson the model's "user"), cleaning the model's
reply (reasoning blocks, role prefixes, stage directions, length cap), the decision
protocol and its bilingual fallback, the checks that trigger a regeneration (role
inversion, empty or garbage output, wrong language, repetition), and the
regenerate-then-fall-back loop.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from salesenv.cues import in_language, jaccard, lexicon, tokens
from salesenv.customers.base import CustomerLM, CustomerReply, CustomerRequest
from salesenv.customers.thinking import THINKING_FLAG, strip_thinking
from salesenv.dialogue import Decision
from salesenv.protocol import get_protocol

Message = dict[str, str]

#: What every chat backend passes to the chat template by default: Qwen3-family models
#: (the released customer model among them) answer without reasoning first. Templates that
#: do not know a variable ignore it. A backend copies it; this dict is never changed.
DEFAULT_CHAT_TEMPLATE_KWARGS: dict[str, Any] = {"enable_thinking": False}

_DECISION_TAG = re.compile(
    r"[\[【(（]\s*decision\s*[:：]\s*(buy|maybe|no|brush[_ -]?off|hostile)\s*[\]】)）]", re.I
)
_ROLE_PREFIX = re.compile(
    r"^\s*\**\s*(?:customer|client|buyer|user|assistant|salesperson|seller|agent|"
    r"顾客|客户|用户|买家|销售|销售员|助手)\s*\**\s*[:：]\s*\**\s*",
    re.I,
)
_STAGE_DIRECTION = re.compile(
    r"\*[^*\n]{1,60}\*|\((?:[^()\n]{1,40})\)|（[^（）\n]{1,40}）|\[[^\[\]\n]{1,40}\]"
)
_SENTENCE_END = re.compile(r"[.!?。！？…]")
_WORDS = re.compile(r"\w+")

_LAST_TURN = {
    "en": "This is your last reply in this conversation: state your decision and end with its tag.",
    "zh": "这是你在这段对话里的最后一次回复：说出你的决定，并在末尾加上对应的标签。",
}
_OPENED_WITH = {
    "en": "\n\nYou opened the conversation with: {trigger}",
    "zh": "\n\n你用这句话开启了对话：{trigger}",
}
_FALLBACK = {
    "en": "Sorry, could you say that again? I'm not sure what you mean.",
    "zh": "不好意思，你能再说一遍吗？我没太明白你的意思。",
}
_END_CUES = (
    ("end_hostile", Decision.HOSTILE),
    ("end_buy", Decision.BUY),
    ("end_no", Decision.NO),
    ("end_maybe", Decision.MAYBE),
    ("end_brush_off", Decision.BRUSH_OFF),
)


@dataclass(frozen=True)
class SamplingConfig:
    """How the customer model samples (paper defaults: temperature 0.8, top_p 0.99).

    Attributes:
        temperature: Softmax temperature; 0 means greedy.
        top_p: Nucleus sampling mass.
        max_new_tokens: Token budget of one reply.
        max_reply_chars: Replies are cut at the last sentence end before this many characters.
        max_regenerations: Retries for a reply that fails a check (role inversion, empty,
            wrong language, repetition) before a neutral fallback turn is used.
    """

    temperature: float = 0.8
    top_p: float = 0.99
    max_new_tokens: int = 160
    max_reply_chars: int = 600
    max_regenerations: int = 2

    def __post_init__(self) -> None:
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"need temperature >= 0 and 0 < top_p <= 1, got {self}")
        if self.max_new_tokens < 1 or self.max_reply_chars < 1 or self.max_regenerations < 0:
            raise ValueError(f"token, length and retry limits must be positive, got {self}")


def customer_messages(request: CustomerRequest) -> list[Message]:
    """The chat as the customer model sees it.

    The customer's script is the system prompt; the trigger sentence is told in it (so the
    chat starts with a "user" turn, which every chat template accepts); then the
    salesperson speaks as "user" and the customer as "assistant". Under the
    "salesllm-official" protocol (`request.protocol`) the system prompt ends with the
    protocol's language line instead and the trigger is the customer's own first turn, as
    the public SalesLLM runner lays it out.
    """
    scenario = request.scenario
    lang = scenario.language
    protocol = get_protocol(request.protocol)
    if protocol.trigger_as_customer_turn:
        system = protocol.with_language_line(scenario.customer_prompt, lang)
        opening = [{"role": "assistant", "content": scenario.trigger}]
    else:
        system = scenario.customer_prompt + _OPENED_WITH[lang].format(trigger=scenario.trigger)
        system = protocol.with_language_line(system, lang)
        opening = []
    if request.must_decide:
        system += "\n\n" + _LAST_TURN[lang]
    messages = [{"role": "system", "content": system}, *opening]
    for turn in request.turns[1:]:
        messages.append(
            {"role": "user" if turn.role == "salesperson" else "assistant", "content": turn.text}
        )
    return messages


def parse_decision(text: str) -> tuple[str, Decision | None]:
    """Removes decision tags from a reply and returns (text, decision of the last tag)."""
    decision = None
    for match in _DECISION_TAG.finditer(text):
        decision = Decision(
            re.sub(r"[ -]", "_", match.group(1).lower()).replace("brushoff", "brush_off")
        )
    return _DECISION_TAG.sub("", text).strip(), decision


def fallback_decision(text: str, language: str) -> Decision | None:
    """A decision read from explicit end-of-conversation wording, when the model gave no tag.

    Deliberately narrow (see cues.yaml `end_*`): a bare "不要" or "no" does not end it.
    """
    lex = lexicon(language)
    for cue, decision in _END_CUES:
        if lex.has(cue, text):
            return decision
    return None


def clean_reply(text: str, max_chars: int) -> str:
    """Strips role prefixes and stage directions, collapses whitespace, caps the length at
    the last sentence end before `max_chars`."""
    lines = [_ROLE_PREFIX.sub("", line) for line in text.strip().splitlines()]
    text = " ".join(line.strip() for line in lines if line.strip())
    text = _ROLE_PREFIX.sub("", text)
    text = _STAGE_DIRECTION.sub("", text)
    text = re.sub(r"\s+", " ", text).strip().strip('"“”')
    if len(text) > max_chars:
        head = text[:max_chars]
        ends = [m.end() for m in _SENTENCE_END.finditer(head)]
        text = head[: ends[-1]] if ends else head
    return text.strip()


def is_role_inversion(text: str) -> bool:
    """Whether a customer turn acts as the seller (pitches, offers help), in either language."""
    return lexicon("en").has("seller_role", text) or lexicon("zh").has("seller_role", text)


def reply_problems(text: str, request: CustomerRequest) -> list[str]:
    """Why a cleaned customer reply should be regenerated (empty list: it is fine)."""
    lang = request.scenario.language
    if not _WORDS.search(text):
        return ["empty"]
    problems = []
    if is_role_inversion(text):
        problems.append("role_inversion")
    if not in_language(text, lang):
        problems.append("wrong_language")
    if _is_repetitive(text, request):
        problems.append("repetition")
    return problems


def _is_repetitive(text: str, request: CustomerRequest) -> bool:
    lang = request.scenario.language
    mine = tokens(text, lang)
    # Degenerate loops: the same word or bigram over and over.
    words = _WORDS.findall(text.lower()) if lang == "en" else list(re.sub(r"\W", "", text))
    if len(words) >= 12 and Counter(words).most_common(1)[0][1] / len(words) > 0.4:
        return True
    if len(mine) < 3:
        return False
    for turn in request.turns:
        if turn.role == "customer":
            theirs = tokens(turn.text, lang)
            if theirs and jaccard(mine, theirs) >= 0.8:
                return True
    seller = next((t.text for t in reversed(request.turns) if t.role == "salesperson"), "")
    return len(seller) >= 12 and seller.strip() in text


def reply_seed(request: CustomerRequest, attempt: int) -> int:
    """A 31-bit seed for one generation: the conversation's seed, its length and the try."""
    key = f"{request.seed}:{request.scenario.id}:{len(request.turns)}:{attempt}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big") & 0x7FFFFFFF


class ChatBackend(CustomerLM):
    """A chat language model; backends implement `generate`. As the customer (`respond`)
    it plays the customer's script.

    `respond` builds each conversation's messages, asks the backend for all replies in one
    batched call, checks them, regenerates the failing ones (again batched) up to
    `sampling.max_regenerations` times, and falls back to a neutral turn when a reply still
    fails. A reasoning model's `<think>` blocks are removed first (`strip_thinking`), so a
    reply that was all reasoning counts as empty. Every detection is counted in the reply's
    flags ("thinking_stripped", "role_inversion", "empty", "wrong_language", "repetition",
    "regenerated", "fallback"), so role inversion can be reported per turn and per dialogue.

    The same backend also serves as a salesperson (`LLMSalesAgent`) or a grader (the LLM
    judge and intent scorer); `role` names the part it plays in its error messages. Its
    users set it around their calls with `playing_role`.

    Args:
        sampling: Sampling and reply limits.
        chat_template_kwargs: Variables for the model's chat template, on every call
            whichever part the backend plays (default: `{"enable_thinking": False}`, which
            turns a Qwen3-family model's reasoning off; `{"enable_thinking": True}` turns it
            on). None or {} passes none.

    Attributes:
        role: "customer" (default), "salesperson" or "grader".
    """

    deterministic = False
    role: str = "customer"

    def __init__(
        self,
        sampling: SamplingConfig | None = None,
        chat_template_kwargs: dict[str, Any] | None = DEFAULT_CHAT_TEMPLATE_KWARGS,
    ) -> None:
        self.sampling = sampling or SamplingConfig()
        self.chat_template_kwargs = (
            None if chat_template_kwargs is None else dict(chat_template_kwargs)
        )

    @property
    def template_kwargs(self) -> dict[str, Any]:
        """`chat_template_kwargs` as keyword arguments (a copy; {} for None)."""
        return dict(self.chat_template_kwargs or {})

    @abc.abstractmethod
    def generate(self, conversations: Sequence[list[Message]], seeds: Sequence[int]) -> list[str]:
        """Raw model replies, one per conversation, sampled with the given seeds."""

    def respond(self, requests: Sequence[CustomerRequest]) -> list[CustomerReply]:
        messages = [customer_messages(r) for r in requests]
        flags: list[Counter[str]] = [Counter() for _ in requests]
        final: list[tuple[str, Decision | None] | None] = [None] * len(requests)
        pending = list(range(len(requests)))
        for attempt in range(self.sampling.max_regenerations + 1):
            raw = self.generate(
                [messages[i] for i in pending], [reply_seed(requests[i], attempt) for i in pending]
            )
            retry = []
            for i, text in zip(pending, raw, strict=True):
                # Reasoning goes first: a decision tag inside it is not a decision.
                text, thought = strip_thinking(text)
                if thought:
                    flags[i][THINKING_FLAG] += 1
                reply_text, decision = parse_decision(text)
                reply_text = clean_reply(reply_text, self.sampling.max_reply_chars)
                problems = reply_problems(reply_text, requests[i])
                flags[i].update(problems)
                if problems:
                    retry.append(i)
                else:
                    final[i] = (reply_text, decision)
            pending = retry
            if not pending or attempt == self.sampling.max_regenerations:
                break
            for i in pending:
                flags[i]["regenerated"] += 1
        replies = []
        for i, request in enumerate(requests):
            lang = request.scenario.language
            if final[i] is None:
                flags[i]["fallback"] += 1
                final[i] = (_FALLBACK[lang], None)
            text, decision = final[i]
            if decision is None:
                decision = fallback_decision(text, lang)
            if decision is None and request.must_decide:
                # Left undecided: the intent scorer reads the transcript (or scores "C").
                flags[i]["undecided"] += 1
            replies.append(CustomerReply(text=text, decision=decision, flags=dict(flags[i])))
        return replies


@contextlib.contextmanager
def playing_role(backend: object, role: str) -> Iterator[None]:
    """Sets a chat backend's `role` (the part named in its error messages) inside the block.

    Anything that is not a `ChatBackend` (a wrapper, a test double) is left alone. The old
    role comes back afterwards, so a backend shared by the customer and a grader names
    whichever was calling when it failed.
    """
    if not isinstance(backend, ChatBackend):
        yield
        return
    previous = backend.role
    backend.role = role
    try:
        yield
    finally:
        backend.role = previous


#: The name before 0.2 (the class drives the salesperson and the graders too, not only the
#: customer); kept so that existing imports and configs keep working.
ChatCustomer = ChatBackend
