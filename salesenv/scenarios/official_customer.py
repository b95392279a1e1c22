"""Reads the free-text customer prompt of a public SalesLLM script into a `Persona`.

The official `user_system_prompt` has no fixed layout. What it holds, in many spellings
(English and Chinese keys, bullets or none, `key: value` on one line or a bare heading
line with the value below it, fields in any order, sometimes a "Rules" block or an
"adjusted to" line):

- the difficulty ("Difficulty level: very_hard", "难度等级：非常困难", "Opponent") and the
  buy-inclination score ("Buy-inclination score: 0.1", "购买倾向评分：从0.8调整为0.9",
  "Purchase intention level: Very low");
- a persona line ("Persona:", "人设：", "人物设定：", "角色画像：", ...) that restates the
  difficulty profile (e.g. "Balanced buyer. Has some concerns (price/fit)");
- CUSTOMER_INFORMATION: basic_info (a JSON object or prose), motivations, pain_points,
  decision_factors (or "decision factors adjusted to: ..."), communication_preferences,
  language.

`parse_customer_prompt` finds the fields by their keys (`FIELD_KEYS`), tags their phrases
with the 10 decision factors of `salesenv.scenarios.scenario.FACTORS` through the cue
lexicon, and returns a `CustomerScript`. Decision factors are ordered by where they are
named: the decision-factor field first, then the pain points, the persona line, the
motivations and any other free text; when fewer than two are named, the difficulty
profile's own concerns (`PROFILE_FACTORS`, the paper's profile descriptions) fill up.

Unusable prompts (`CustomerScript.problem` is set): an empty prompt or a placeholder
("Not needed", "No need", "不需要", "不要", a model's refusal); the loader skips those
lines with a warning naming the line. Cut-off prompts are repaired and reported
(`CustomerScript.repaired`): customer information that is only referred to
("CUSTOMER_INFORMATION (unchanged)", "保持不变") or fields left empty ("Motivation" with
nothing below it) keep what the prompt has (difficulty, persona line, other fields). A
prompt without any field this reader knows still loads (`layout="free"`): its labels are
read leniently anywhere in the text and its decision factors from all of its text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from salesenv.cues import Lexicon, lexicon
from salesenv.scenarios.difficulty_labels import (
    PROPENSITIES,
    difficulty_from_score,
    parse_difficulty,
    read_difficulty,
)
from salesenv.scenarios.scenario import Fact, Persona

#: The concerns each difficulty profile names (the paper's profile descriptions), used
#: only when the script itself names fewer than two decision factors.
PROFILE_FACTORS = {
    "easy": ("fit_flexibility", "core_quality"),
    "medium": ("returns_cost", "fit_flexibility"),
    "hard": ("returns_cost", "safety_protection"),
    "very_hard": ("transparency_terms", "social_proof", "safety_protection"),
    "adversarial": ("transparency_terms", "returns_cost", "safety_protection"),
}
#: Phrases that name a factor only to say it is no concern ("预算灵活", "budget is flexible",
#: "not price-sensitive"): removed before factors are read, so a flexible budget does not
#: make the customer ask about price (the easy profile of the paper has a flexible budget).
NOT_A_CONCERN = re.compile(
    r"预算[^，。,；;\n]{0,6}?(?:灵活|充足|宽裕|充裕|不是问题|不成问题)"
    r"|(?:对)?价格(?:并)?不(?:太|是很)?敏感|不(?:太|怎么)?(?:在意|在乎|计较)(?:价格|花费|预算)"
    r"|(?:very |quite |fairly |relatively )?flexible budget"
    r"|budget (?:is|remains) (?:very |quite |fairly |relatively )?flexible"
    r"|budget[- ]flexible|not (?:very |overly |too )?price[- ]sensitive"
    r"|(?:price|budget|cost) (?:is|are) not (?:a|an|the) (?:main )?(?:concern|issue|problem)",
    re.I,
)
#: Most decision factors and pain points kept per persona (the agenda of the customer).
MAX_FACTORS = 6
MAX_PAINS = 2

#: Field name -> pattern over a normalised key (lower case, no spaces, "_" or "-").
FIELD_KEYS: dict[str, re.Pattern[str]] = {
    "difficulty": re.compile(
        r"^(?:customer)?difficulty(?:level)?$|^(?:难度|困难|难易)(?:等级|级别|水平|程度)?$"
    ),
    "score": re.compile(
        r"(?:buy|buying|purchas\w*)(?:inclination|tendency|intention|intent|propensity)"
        r"(?:score|level)?$|^(?:购买|买)?(?:倾向|意愿|意向)(?:评分|分数|得分|分值|分|等级)?$"
    ),
    "persona": re.compile(
        r"^(?:customer|buyer)?(?:persona|role|profile|character)$|^(?:人设|人物设定|人物角色|角色画像|用户画像|"
        r"人物画像|人物特质|人物特征|人物|角色定位|角色|画像|消费者画像|人物角色画像|客户画像|买家画像)$"
    ),
    "basic_info": re.compile(
        r"^(?:basic|general|personal)(?:info|information)$|^(?:基本信息|基本资料|个人信息)$"
    ),
    "motivations": re.compile(
        r"^(?:motivations?|(?:purchase|buying)motivations?|goals?)$|^(?:购买)?(?:动机|动力源|动力|需求动机)$"
    ),
    "motivations_pains": re.compile(r"^动机与痛点$|^motivations?andpainpoints?$"),
    "pain_points": re.compile(r"^(?:pain(?:points?|s))$|^(?:痛点|顾虑|主要痛点)$"),
    "decision_factors": re.compile(
        r"^(?:key)?(?:decision|deciding|purchase|buying)(?:making)?factors?(?:are|were)?"
        r"(?:adjusted|changed|updated|modified)?(?:to)?$|(?:决策|决定|考虑)因素(?:调整为|改为|更新为)?$"
    ),
    "communication": re.compile(r"^communication(?:preferences?|style)?$|^沟通(?:偏好|方式|习惯)$"),
    "language": re.compile(r"^language$|^语言$"),
    "rules": re.compile(
        r"^(?:additional|updated|modified)?(?:rules?|behaviou?ralguid\w*)(?:update[sd]?|adjust\w*)?$"
        r"|^(?:规则|规则调整|规则补充|规则更新|行为指导|补充规则|更新规则)$"
    ),
}
_INFO_HEADER = re.compile(r"customer_?information|客户信息|顾客信息|用户信息", re.I)
_KEY_LINE = re.compile(
    r"^[ \t]*(?:[-*•·]|\d+[.)、])?[ \t]*(?:\*\*)?(?P<key>[^:：\n{}\"]{1,64}?)(?:\*\*)?[ \t]*"
    r"(?:[（(][^)）\n]{0,40}[)）])?[ \t]*(?:[:：](?P<value>.*))?$"
)
_PLACEHOLDERS = re.compile(
    r"^(?:not needed|no need|don'?t need|do not need|don'?t want|do not want|not interested|"
    r"sorry.{0,80}(?:can't|cannot) comply.*|不需要|不用了?|不要|不想要|没兴趣|不感兴趣|无)[.。!！]*$",
    re.I | re.S,
)
_UNCHANGED = re.compile(r"unchanged|remains? the same|保持不变|不变|同上", re.I)
_LEVEL_WORDS = (
    (re.compile(r"very low|extremely low|极低|很低|非常低", re.I), 0.1),
    (re.compile(r"very high|extremely high|极高|很高|非常高", re.I), 0.9),
    (re.compile(r"\blow\b|较低|偏低|低", re.I), 0.2),
    (re.compile(r"\bhigh\b|较高|偏高|高", re.I), 0.8),
    (re.compile(r"medium|moderate|中等|一般|适中", re.I), 0.5),
)
#: Persona lines that restate a difficulty profile without naming it.
_PERSONA_PROFILES = (
    (
        re.compile(
            r"adversarial|disqualif|opponent|对抗|敌意|排除供应商|剔除供应商|否定供应商", re.I
        ),
        "adversarial",
    ),
    (re.compile(r"corporate buyer|enterprise|procurement|企业买家|采购流程", re.I), "very_hard"),
    (
        re.compile(
            r"skeptical|sceptical|price-sensitive|risk-averse|怀疑|价格敏感|规避风险|风险厌恶", re.I
        ),
        "hard",
    ),
    (
        re.compile(r"balanced|rational buyer|informed buyer|平衡型|理性买家|知情买家", re.I),
        "medium",
    ),
    (re.compile(r"open-minded|highly motivated|开放|积极", re.I), "easy"),
)
_NUMBER = re.compile(r"(?<![\d.])(\d*\.?\d+)(?![\d.])")
_CLAUSE = re.compile(r"[^,，;；。.!?！？、\n]+(?:\.\d[^,，;；。!?！？、\n]*)?")
_SENTENCE = re.compile(r"[^。;；!?！？\n]+|[^.\n]+")
_PAIN_LEAD = re.compile(
    r"^(?:and\s+|also\s+|同时|并且|而且|以及|还)?(?:(?:is\s+|are\s+)?(?:very\s+|extremely\s+|particularly\s+|deeply\s+)?"
    r"(?:worried|concerned|worries|worry|concerns?|fears?|feels?|afraid|anxious)\s*(?:that|about|over|of|with)?\s*"
    r"|(?:非常|特别|比较|很|极其|有点|稍微)?(?:担心|担忧|害怕|顾虑|怕)\s*)?",
    re.I,
)
#: Words around a listed worry ("有一些顾虑（…）", "对…有一些担忧", "some concerns about ..."),
#: and the separators of its list.
_WORRY_WORDS = re.compile(
    r"^(?:has\s+|have\s+)?(?:some|a few|certain)\s+(?:concerns?|worries|doubts)\s*(?:about|over|on|regarding)?"
    r"|^有(?:一些|一定|些|点)?(?:顾虑|担忧|疑虑|担心)|^对|有(?:一些|一定|些|点)?(?:顾虑|担忧|疑虑|担心)$",
    re.I,
)
_WORRY_BRACKETS = re.compile(
    r"(?:concerns?|worries|doubts|顾虑|担忧|疑虑|担心)\s*[(（]([^()（）]+)[)）]", re.I
)
_WORRY_LIST = re.compile(r"\s*(?:/|／|、|和|或|与|及|\band\b|\bor\b)\s*", re.I)
_MOTIVE_LEAD = re.compile(
    r"^(?:(?:he|she|they|the customer)\s+)?(?:wants?|hopes?|hoping|plans?|needs?|would like|is looking|looking|"
    r"seeking|searching|aims?|aiming|wishes?)\s*(?:to|for)?\s*|^(?:希望|想要|想|打算|计划|寻求|寻找|需要)",
    re.I,
)


@dataclass(frozen=True)
class CustomerScript:
    """What a public customer prompt says about the customer.

    Attributes:
        difficulty: The difficulty id (from the label, else the score, else the persona
            line, else "medium").
        buy_propensity: The buy-inclination score, else the profile's propensity.
        persona: The structured persona, or None when the prompt is unusable.
        layout: "profile" (customer-information fields), "persona" (difficulty and
            persona line only), "free" (no field this reader knows: factors come from the
            free text) or "unusable".
        fields: The field names found.
        problem: Why the prompt is unusable (None when usable).
        repaired: What was filled in for a prompt that refers to missing information.
    """

    difficulty: str
    buy_propensity: float
    persona: Persona | None
    layout: str
    fields: tuple[str, ...] = ()
    problem: str | None = None
    repaired: str | None = None


def normalise_key(key: str) -> str:
    """A field key without spaces, "_", "-", "*" or case: "Decision factors" -> "decisionfactors"."""
    key = re.sub(r"^customer_?information\s*(?:中的|的|'s)?", "", key.strip(), flags=re.I)
    return re.sub(r"[\s_\-*`'\"·]+", "", key.lower())


def field_of(key: str) -> str | None:
    """The field a key names ("Pain points" -> "pain_points"), or None."""
    norm = normalise_key(key)
    if not norm or len(norm) > 40:
        return None
    for name, pattern in FIELD_KEYS.items():
        if pattern.search(norm):
            return name
    return None


def split_fields(prompt: str) -> tuple[dict[str, str], str]:
    """The prompt's fields (name -> text, repeated fields joined) and its other free text.

    A field starts at a line whose key names it (`field_of`), with the value after the
    colon and/or on the lines below; it ends at the next field line, or at a blank line
    once it has text. Lines under "Rules" are dropped (boilerplate) unless they are field
    lines themselves.
    """
    fields: dict[str, list[str]] = {}
    free: list[str] = []
    current: str | None = None
    for raw in prompt.splitlines():
        line = raw.strip()
        match = _KEY_LINE.match(raw)
        name = field_of(match.group("key")) if match else None
        if name is None and match and match.group("value") is not None:
            # "CUSTOMER_INFORMATION中的决策因素调整为：..." and similar long keys
            key = match.group("key")
            if re.search(r"决策因素|decision factors", key, re.I) and len(key) <= 64:
                name = "decision_factors"
        if name:
            current = name
            value = (match.group("value") or "").strip()
            fields.setdefault(name, [])
            if value:
                fields[name].append(value)
            continue
        if _INFO_HEADER.search(line) and len(line) <= 60 and not name:
            current = None
            continue
        if not line:
            if current and current != "rules" and fields.get(current):
                current = None
            continue
        if current == "rules":
            continue
        if current:
            fields[current].append(line.lstrip("-*•· ").strip())
        else:
            free.append(line.lstrip("-*•· ").strip())
    return {k: " ".join(v).strip() for k, v in fields.items()}, "\n".join(free)


def read_score(text: str) -> float | None:
    """A buy-inclination score from a field value: the last number ("从0.8调整为0.9" ->
    0.9; 0-10 scales are divided by 10), else a level word ("Very low" -> 0.1)."""
    numbers = [float(n) for n in _NUMBER.findall(text)]
    if numbers:
        score = numbers[-1]
        if 0.0 <= score <= 1.0:
            return score
        if score <= 10:
            return score / 10
        return None
    for pattern, value in _LEVEL_WORDS:
        if pattern.search(text):
            return value
    return None


def parse_customer_prompt(prompt: str, language: str) -> CustomerScript:
    """Reads one official customer prompt (see the module docstring)."""
    text = (prompt or "").strip()
    if not text:
        return CustomerScript(
            "medium", PROPENSITIES["medium"], None, "unusable", problem="empty prompt"
        )
    if _PLACEHOLDERS.match(text):
        return CustomerScript(
            "medium",
            PROPENSITIES["medium"],
            None,
            "unusable",
            problem=f"placeholder instead of a customer prompt ({text[:40]!r})",
        )
    fields, free = split_fields(text)
    difficulty = parse_difficulty(fields.get("difficulty", "")) if "difficulty" in fields else None
    if difficulty is None and fields.get("difficulty"):
        difficulty = parse_difficulty(re.split(r"[\s(（,，]", fields["difficulty"].strip())[0])
    score = read_score(fields["score"]) if fields.get("score") else None
    persona_text = fields.get("persona", "")
    profile_fields = [
        f
        for f in (
            "basic_info",
            "motivations",
            "motivations_pains",
            "pain_points",
            "decision_factors",
        )
        if fields.get(f)
    ]
    if difficulty is None or score is None:
        # Labels written inline ("You are a customer. Difficulty: EASY. ...").
        loose_difficulty, loose_score = read_difficulty(text)
        difficulty = difficulty or loose_difficulty
        score = score if score is not None else loose_score
    if difficulty is None:
        difficulty = _profile_from_persona(persona_text or free)
    if difficulty is None:
        difficulty = difficulty_from_score(score) if score is not None else "medium"
    propensity = score if score is not None else PROPENSITIES[difficulty]
    lex = lexicon(language)
    # Stripped: two absent fields join to " ", which must not hide the worry fallback below.
    pains_text = " ".join(fields.get(k, "") for k in ("pain_points", "motivations_pains")).strip()
    motives_text = " ".join(fields.get(k, "") for k in ("motivations", "motivations_pains")).strip()
    sources = [
        fields.get("decision_factors", ""),
        pains_text,
        persona_text,
        motives_text,
        free,
    ]
    ranked: list[str] = []
    for source in sources:
        for factor in lex.ordered_factors(NOT_A_CONCERN.sub(" ", source)):
            if factor not in ranked:
                ranked.append(factor)
    for factor in PROFILE_FACTORS[difficulty]:
        if len(ranked) >= 2:
            break
        if factor not in ranked:
            ranked.append(factor)
    pains = _pain_points(pains_text or _worries(free + "\n" + persona_text, language), language)
    motivations = _motivations(motives_text, language)
    age, gender, city, occupation = _basic_info(fields.get("basic_info", ""))
    repaired = None
    empty = [
        f
        for f in ("motivations", "pain_points", "decision_factors")
        if f in fields and not fields[f]
    ]
    if not profile_fields and _UNCHANGED.search(text):
        repaired = (
            "its customer information only refers to an earlier version ('unchanged'); "
            "the profile comes from the difficulty and persona lines"
        )
    elif empty:
        repaired = (
            f"empty field(s) {', '.join(empty)} (cut off?); the profile comes from the other fields"
        )
    persona = Persona(
        age_group=age,
        gender=gender,
        city=city,
        occupation=occupation,
        motivations=motivations,
        pain_points=pains,
        decision_factors=tuple(ranked[:MAX_FACTORS]),
        communication=fields.get("communication", ""),
    )
    return CustomerScript(
        difficulty=difficulty,
        buy_propensity=min(1.0, max(0.0, propensity)),
        persona=persona,
        layout="profile" if profile_fields else ("persona" if persona_text else "free"),
        fields=tuple(fields),
        repaired=repaired,
    )


def _profile_from_persona(text: str) -> str | None:
    for pattern, difficulty in _PERSONA_PROFILES:
        if pattern.search(text):
            return difficulty
    return None


def _worries(text: str, language: str) -> str:
    """Sentences of free text that voice a worry (used when there is no pain-point field)."""
    lex = lexicon(language)
    return " ".join(
        s
        for s in _SENTENCE.findall(text)
        if re.search(r"worr|concern|doubt|担心|担忧|顾虑|疑虑|怕", s, re.I) and lex.factors_in(s)
    )


def _pain_points(text: str, language: str) -> tuple[Fact, ...]:
    """The pain-point clauses that name a decision factor, as facts (distinct factors first).

    A worry listed over several factors ("有一些顾虑（价格/适合性）", "some concerns about
    price and fit") is a worry about each of them: one pain per factor, worded by its item.
    """
    lex = lexicon(language)
    found: list[Fact] = []
    for clause in _CLAUSE.findall(text):
        clause = _PAIN_LEAD.sub("", clause.strip()).strip(" -*•'\"“”")
        for part in _worry_items(clause, lex):
            factors = lex.ranked_factors(part)
            if factors and len(part) >= 2 and all(f.text != part for f in found):
                found.append(Fact(factors[0], part))
    distinct: list[Fact] = []
    for fact in found:
        if all(f.factor != fact.factor for f in distinct):
            distinct.append(fact)
    rest = [f for f in found if f not in distinct]
    return tuple((distinct + rest)[:MAX_PAINS])


def _worry_items(clause: str, lex: Lexicon) -> list[str]:
    """A worry clause, or its items when it lists a different factor per item (see
    `_pain_points`); clauses under 4 characters name no worry."""
    if len(clause) < 4:
        return []
    listed = _WORRY_BRACKETS.search(clause)
    core = listed.group(1) if listed else _WORRY_WORDS.sub("", clause).strip(" ()（）:：,，")
    items = [i.strip(" ()（）") for i in _WORRY_LIST.split(core) if i.strip(" ()（）")]
    found = [lex.factors_in(i) for i in items]
    if (
        len(items) > 1
        and all(len(f) == 1 for f in found)
        and len(set().union(*found)) == len(items)
    ):
        return items
    return [clause]


def _motivations(text: str, language: str) -> tuple[Fact, ...]:
    lex = lexicon(language)
    found = []
    for sentence in _SENTENCE.findall(text):
        for part in re.split(r"[;；]|，(?=同时|并且|还)|, (?:and |but )", sentence):
            part = part.strip()
            if re.match(r"(?i)(?:is |are )?(?:looking|searching|seeking)\s+for\s", part):
                part = "find " + re.sub(r"(?i)^(?:is |are )?\w+\s+for\s+", "", part)
            part = _MOTIVE_LEAD.sub("", part).strip(" -*•'\"“”，,.。")
            if len(part) < 4:
                continue
            factors = lex.ranked_factors(part)
            found.append(Fact(factors[0] if factors else "fit_flexibility", part))
    return tuple(found[:2])


_AGE = re.compile(r"(\d{2}\s*[-–~至到]\s*\d{2}|\d{2}\s*\+)")
_GENDER = {
    "female": "female",
    "woman": "female",
    "女": "女",
    "male": "male",
    "man": "male",
    "男": "男",
}


def _basic_info(text: str) -> tuple[str, str, str, str]:
    """Age group, gender, city, occupation from a basic_info JSON object or prose."""
    if not text:
        return "", "", "", ""
    values: dict[str, str] = {}
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            data = json.loads(text[start : end + 1])
            values = {normalise_key(str(k)): str(v) for k, v in data.items()}
        except (ValueError, AttributeError):
            values = {
                normalise_key(k): v for k, v in re.findall(r'"([^"]+)"\s*:\s*"([^"]*)"', text)
            }

    def pick(*keys: str) -> str:
        return next((values[k] for k in keys if values.get(k)), "")

    age = pick("agegroup", "age", "agerange", "年龄段", "年龄组", "年龄")
    gender = pick("gender", "sex", "性别")
    city = pick("location", "city", "地点", "所在地", "位置", "城市", "居住地")
    occupation = pick("occupation", "job", "profession", "职业")
    if not values:
        match = _AGE.search(text)
        age = match.group(1) if match else ""
        low = text.lower()
        gender = next(
            (g for w, g in _GENDER.items() if re.search(rf"(?<![a-z]){w}(?![a-z])", low)), ""
        )
    return age, gender, city, occupation
