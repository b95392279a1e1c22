"""Decides the language of a public SalesLLM script from its text, not from its row.

The official benchmark files say `"language": "chinese"` on every row, the English file
included (the official runner takes the language from its command line), so the declared
language is only a tie-breaker. The evidence, strongest first:

1. a rule line that fixes the conversation language ("Speak strictly in English",
   "Strictly communicate in English", "严格使用中文交流", "只说中文", ...), in either prompt;
2. a `language:` / `语言:` field of the customer information ("language: english");
3. the share of CJK characters among the letters of both prompts (`cues.cjk_share`):
   at least 0.3 reads as Chinese, below 0.1 as English;
4. the declared `language` of the row; then the triggers (a row with only one of
   `trigger_sentence_zh` / `trigger_sentence_en`).

Each kind of evidence votes; the first kind that names exactly one language decides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from salesenv.cues import cjk_share

_ZH_NAMES = ("zh", "cn", "chinese", "zh-cn", "zh_cn", "中文", "汉语", "普通话", "简体中文")
_EN_NAMES = ("en", "english", "en-us", "en_us", "en-gb", "英文", "英语")

_EN_RULE = re.compile(
    r"(?:speak|communicate|respond|reply|answer|talk|use|write|converse)[a-z ]{0,30}?"
    r"(?:only |strictly |exclusively |solely )?in english|(?:only|strictly|exclusively) "
    r"(?:use |speak |in )?english|english only|使用英文|用英文|说英文|使用英语|用英语|说英语",
    re.I,
)
_ZH_RULE = re.compile(
    r"(?:使用|用|说|讲)\s*中文|中文\s*(?:交流|沟通|回复|回答|对话|表达)|只(?:能)?(?:说|讲|用)\s*(?:中文|汉语)"
    r"|(?:speak|communicate|respond|reply|use)[a-z ]{0,30}?in chinese|chinese only",
    re.I,
)
_LANGUAGE_FIELD = re.compile(
    r"^[ \t>*•-]*(?:language|语言)[ \t]*[:：]?[ \t]*\n?[ \t>*•-]*([A-Za-z\u4e00-\u9fff_-]{2,12})[ \t]*$",
    re.I | re.M,
)


@dataclass(frozen=True)
class LanguageVerdict:
    """The language of a script and why.

    Attributes:
        language: "zh" or "en".
        reason: The evidence that decided, e.g. "rule line", "CJK share 0.02".
        declared: The row's own language as "zh"/"en", or None when absent or unknown.
    """

    language: str
    reason: str
    declared: str | None

    @property
    def contradicts_row(self) -> bool:
        """Whether the decision differs from the language the row declares."""
        return self.declared is not None and self.declared != self.language


def normalise_language(value: Any) -> str | None:
    """Maps a language name ("chinese", "English", "zh", "中文") to "zh"/"en", else None."""
    key = str(value or "").strip().lower()
    if key in _ZH_NAMES:
        return "zh"
    if key in _EN_NAMES:
        return "en"
    return None


def detect_language(record: Mapping[str, Any]) -> LanguageVerdict:
    """The language of one public SalesLLM record, from its prompts (see the module doc)."""
    customer = str(record.get("user_system_prompt") or "")
    seller = str(record.get("assistant_system_prompt") or "")
    declared = normalise_language(record.get("language"))
    text = f"{customer}\n{seller}"
    rules = {lang for lang, rx in (("en", _EN_RULE), ("zh", _ZH_RULE)) if rx.search(text)}
    if len(rules) == 1:
        return LanguageVerdict(rules.pop(), "rule line", declared)
    fields = {normalise_language(m.group(1)) for m in _LANGUAGE_FIELD.finditer(customer)}
    fields.discard(None)
    if len(fields) == 1:
        return LanguageVerdict(fields.pop(), "language field", declared)
    share = cjk_share(text)
    if share >= 0.3:
        return LanguageVerdict("zh", f"CJK share {share:.2f}", declared)
    if share < 0.1 and re.search(r"[A-Za-z]{3}", text):
        return LanguageVerdict("en", f"CJK share {share:.2f}", declared)
    if declared:
        return LanguageVerdict(declared, "declared", declared)
    triggers = [
        lang
        for lang in ("zh", "en")
        if isinstance(record.get(f"trigger_sentence_{lang}"), str)
        and record[f"trigger_sentence_{lang}"].strip()
    ]
    if len(triggers) == 1:
        return LanguageVerdict(triggers[0], "only trigger", declared)
    return LanguageVerdict("zh" if share >= 0.2 else "en", f"CJK share {share:.2f}", declared)
