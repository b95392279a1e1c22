"""Reads the PRODUCT_INFORMATION of a public SalesLLM salesperson prompt into a `Product`.

The section starts at a header line ("PRODUCT_INFORMATION (private to you):", "产品信息
（仅供你参考）：", "**商品信息：**", "【产品信息】：", ...) and ends at the rules ("Rules:",
"规则：") or the hidden hash line; without a header it starts at the first line that looks
like product information. Three layouts, each in English and Chinese, are read:

- **paragraphs** (`"json"`): a JSON object of paragraphs, e.g. {"Product Information": ...,
  "Marketing Highlights": ...} / {"产品信息": ..., "市场卖点": ...} (financial products).
  Every sentence becomes a fact; the highlights are also the selling points; the name is
  the subject of the first sentence ("X is a ...", "X是一款...").
- **marketplace listing** (`"listing"`): `main_category` / `title` / `description` /
  `price` / `store` / `categories` / `details` lines, with the bullet (feature) lines after
  the details (主要类别 / 标题 / 描述 / 商店 / 类别 / 详细信息 in Chinese).
- **labelled block** (`"labelled"`): "Category:" / "Product Name:" / "Product Description:"
  / "Price:" / "Store:" / "Classification:" / "Details:" / feature lines (品类 / 主分类 /
  产品名称 / 产品描述 / 价格 / 店铺 / 分类 / 产品详情 / 产品特点 in Chinese).

Facts are the description's sentences, the feature lines, the informative detail rows
(brand, manufacturer, material, size, ratings and ranks, warranty; not part or model
numbers) and the price, each tagged with one decision factor: the factor of the most
specific cue-lexicon keyword in it (`salesenv.cues`), else a default by kind
(`DETAIL_FACTORS`, else core quality). A section in none of these layouts gives `layout="unknown"` and no
product; a prompt without any product information gives `layout="none"`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from salesenv.cues import lexicon
from salesenv.scenarios.scenario import Fact, Product

_HEADER = re.compile(
    r"^[ \t#>*【\[]*(?:PRODUCT[_ ]INFORMATION|产品信息|商品信息|产品相关信息|产品资料)"
    r"(?:[ \t]*[（(][^)）\n]{0,30}[)）])?[ \t*】\]]*(?:[（(][^)）\n]{0,30}[)）])?[ \t]*[:：][ \t*】\]]*(?P<rest>.*)$",
    re.I | re.M,
)
_END = re.compile(
    r"^[ \t#>*-]*(?:\*\*)?(?:rules?|规则|注意事项|hash code|哈希码|散列码)(?:\*\*)?[^\n]{0,12}?[:：]",
    re.I | re.M,
)
_KV = re.compile(
    r"^(?P<indent>[ \t]*)(?:[-*•·]\s*)?(?:\*\*)?(?P<key>[^:：\n。，,!！【]{1,40}?)(?:\*\*)?[ \t]*[:：][ \t]*(?P<value>.*?)\s*$"
)

#: Top-level keys of the listing and labelled layouts: normalised key -> role.
KEYS = {
    **dict.fromkeys(
        (
            "title",
            "productname",
            "product",
            "name",
            "itemname",
            "产品名称",
            "商品名称",
            "名称",
            "标题",
            "产品名",
            "商品名",
            "产品",
        ),
        "name",
    ),
    **dict.fromkeys(
        (
            "maincategory",
            "category",
            "productcategory",
            "品类",
            "主分类",
            "主要类别",
            "产品类别",
            "主类别",
            "类目",
            "商品类别",
        ),
        "category",
    ),
    **dict.fromkeys(
        ("categories", "classification", "分类", "类别", "所属分类", "商品分类"), "categories"
    ),
    **dict.fromkeys(
        (
            "description",
            "productdescription",
            "itemdescription",
            "产品描述",
            "描述",
            "商品描述",
            "产品介绍",
            "商品介绍",
            "简介",
            "产品简介",
        ),
        "description",
    ),
    **dict.fromkeys(("price", "售价", "价格", "定价", "商品价格", "产品价格"), "price"),
    **dict.fromkeys(
        ("store", "shop", "storename", "seller", "店铺", "店铺名称", "商店", "店名", "卖家"),
        "store",
    ),
    **dict.fromkeys(
        (
            "details",
            "productdetails",
            "itemdetails",
            "specifications",
            "产品详情",
            "详情",
            "详细信息",
            "商品详情",
            "规格参数",
            "产品参数",
            "细节",
            "产品细节",
            "商品细节",
        ),
        "details",
    ),
    **dict.fromkeys(
        (
            "features",
            "keyfeatures",
            "productfeatures",
            "highlights",
            "bulletpoints",
            "sellingpoints",
            "产品特点",
            "卖点",
            "产品卖点",
            "特点",
            "亮点",
            "核心卖点",
            "商品亮点",
            "产品亮点",
            "关键信息",
            "keyfacts",
            "keyinformation",
            "功能特点",
        ),
        "features",
    ),
}
#: Factors a fact of the description or feature lines is tagged with, at most (one, as the
#: built-in product sheets: a restated fact then answers one question).
TAGS_PER_FACT = 1
_LISTING_KEYS = ("maincategory", "title", "主要类别", "标题")
_NAME_KEYS = ("product information", "产品信息", "product info", "产品介绍", "product description")
_HIGHLIGHT_KEYS = re.compile(r"marketing|highlight|selling|卖点|亮点|营销", re.I)

#: Detail rows that carry no fact the customer could ask about.
_JUNK_ROW = re.compile(
    r"part ?number|model ?(?:number|name)|asin|upc|ean|isbn|batter|discontinued|package quantity|"
    r"number of (?:items|pieces)|unit count|item form|date first|首次|上线日期|上市时间|型号|零件编号|"
    r"是否|包装数量|编号|hash",
    re.I,
)
_JUNK_LINE = re.compile(r"停产|discontinued|batter|电池", re.I)
#: Decision factor of a detail row by its key, when its words do not name one.
DETAIL_FACTORS = (
    (
        re.compile(r"brand|manufacturer|maker|publisher|品牌|生产商|制造商|厂家|出版", re.I),
        "brand_trust",
    ),
    (re.compile(r"rank|rating|review|排名|排行|评分|评价|销量", re.I), "social_proof"),
    (re.compile(r"warrant|guarantee|保修|质保|售后", re.I), "support_after_sales"),
    (re.compile(r"price|cost|价格|售价", re.I), "returns_cost"),
    (
        re.compile(
            r"size|dimension|colou?r|capacity|age range|\bfit|compatib|尺寸|尺码|颜色|容量|适用|兼容|净含量",
            re.I,
        ),
        "fit_flexibility",
    ),
    (re.compile(r"ship|deliver|stock|发货|配送|库存", re.I), "availability_delivery"),
)
_FINANCE = re.compile(
    r"deposit|insurance|fund|bank|savings|premium|存款|储蓄|保险|基金|理财|银行|保费", re.I
)
_PRICE_IN_TEXT = re.compile(
    r"(?:[$¥￥£€]\s?\d[\d,]*(?:\.\d+)?|\d[\d,]*(?:\.\d+)?\s?(?:RMB|CNY|USD|yuan|dollars|元|美元)(?:/[^\s，,。;；]{1,4})?)",
    re.I,
)
_PRICE_WORD = re.compile(r"\bpric|\bcosts?\b|premium|售价|价格|定价|保费|仅需|只要", re.I)
_SENTENCES = {
    "zh": re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?"),
    # A full stop ends a sentence only before a capital, a digit, a quote or the end
    # ("78 sq. ft. of coverage" and "approx. 2 kg" stay whole).
    "en": re.compile(r"(?:[^.!?;\n]|[.!?](?!\s+[A-Z0-9“\"(]|\s*$))+[.!?;]?"),
}
_NOISE_LINE = re.compile(
    r"^(?:from the manufacturer|from the publisher|product description|manufacturer information|"
    r"来自制造商|从制造商|来自出版商|产品描述|商品描述|制造商信息|厂商信息)[:：]?$",
    re.I,
)


@dataclass(frozen=True)
class ProductParse:
    """The product sheet read from a salesperson prompt.

    Attributes:
        product: The sheet, or None when there is no product information or its layout is
            unknown.
        layout: "json", "listing", "labelled", "unknown" (product information in a layout
            this reader does not know) or "none" (no product information at all).
    """

    product: Product | None
    layout: str


def product_section(prompt: str) -> str | None:
    """The text of the prompt's product information, or None when it has none."""
    header = None
    for match in _HEADER.finditer(prompt):
        header = match
        break
    if header is not None:
        start = header.start("rest")
    else:
        first = re.search(
            r"^[ \t*-]*(?:main_category|title|category|product name|product|品类|主分类|主要类别|产品名称|商品名称|产品|标题)[ \t]*[:：]"
            r"|^[ \t]*\{[ \t]*$|^[ \t]*\{\s*\"",
            prompt,
            re.I | re.M,
        )
        if first is None:
            return None
        start = first.start()
    end = _END.search(prompt, start)
    section = prompt[start : end.start() if end else len(prompt)].strip()
    return section or None


def parse_product(prompt: str, language: str, key: str = "") -> ProductParse:
    """Reads a salesperson prompt's product information (see the module docstring).

    Args:
        prompt: The salesperson's system prompt.
        language: "zh" or "en" (picks the cue lexicon and sentence splitting).
        key: A stable id for the product (the record's id); defaults to a content hash.
    """
    section = product_section(prompt)
    if section is None:
        return ProductParse(None, "none")
    pid = (
        f"salesllm:{key}"
        if key
        else "salesllm:" + hashlib.sha256(section.encode()).hexdigest()[:12]
    )
    if section.lstrip().startswith("{") or re.search(
        r'^\s*["“][^"“”\n]{2,40}["”]\s*[:：]\s*["“]', section, re.M
    ):
        product = _from_paragraphs(section, language, pid)
        return ProductParse(product, "json" if product else "unknown")
    rows = _rows(section)
    roles = {KEYS.get(_norm(k)) for _, k, _ in rows if k is not None}
    if "name" in roles or (
        {"description", "details", "category"} & roles and len(roles - {None}) >= 2
    ):
        listing = any(_norm(k) in _LISTING_KEYS for _, k, _ in rows if k is not None)
        product = _from_rows(rows, language, pid)
        if product is not None:
            return ProductParse(product, "listing" if listing else "labelled")
    return ProductParse(None, "unknown")


def _norm(key: str) -> str:
    return re.sub(r"[\s_\-*`'\"]+", "", key.lower())


def _rows(section: str) -> list[tuple[int, str | None, str]]:
    """(indent, key or None, value or line) for every non-empty line."""
    rows = []
    for raw in section.splitlines():
        if not raw.strip():
            continue
        match = _KV.match(raw)
        indent = len(raw) - len(raw.lstrip())
        if match and not re.search(r"https?$", match.group("key"), re.I):
            rows.append((indent, match.group("key").strip(), match.group("value").strip()))
        elif asked := re.match(
            r"^[ \t]*(?:[-*•·]\s*)?([^?？\n]{1,24}[?？])[ \t]*(\S.{0,11})$", raw
        ):
            rows.append(
                (indent, asked.group(1).strip(), asked.group(2).strip())
            )  # "是否包含电池？否"
        else:
            rows.append((indent, None, raw.strip().lstrip("-*•· ").strip()))
    return rows


def _from_rows(rows: list[tuple[int, str | None, str]], language: str, pid: str) -> Product | None:
    name = category = price = store = ""
    categories: list[str] = []
    description: list[str] = []
    details: list[tuple[str, str]] = []
    features: list[str] = []
    block = ""
    block_indent = -1
    for indent, key, value in rows:
        role = KEYS.get(_norm(key)) if key is not None else None
        if role == "category" and not value:
            role = "categories"
        if role is not None and not (block == "details" and role in ("category",) and category):
            block, block_indent = role, -1
            if role == "name" and not name:
                name = value
            elif role == "category" and not category:
                category = value
            elif role == "price" and not price:
                price = value
            elif role == "store" and not store:
                store = value
            elif role in ("description", "features") and value:
                (description if role == "description" else features).append(value)
            elif role == "categories" and value:
                categories.append(value)
            continue
        if key is not None and value:
            if block in ("categories", "description", "") and not _looks_like_row(key, value):
                text = f"{key}：{value}" if language == "zh" else f"{key}: {value}"
                (description if block != "categories" else features).append(text)
            else:
                details.append((key, value))
                if block in ("categories", "description", ""):
                    block = "details"
            continue
        line = value if key is None else key
        if not line or _NOISE_LINE.match(line) or (len(line) <= 12 and _JUNK_LINE.search(line)):
            continue
        if block == "categories" and block_indent < 0:
            block_indent = indent
        if block == "categories" and indent < block_indent:
            block = "features"  # bullet lines after an indented category list
        if block == "categories":
            categories.append(line)
        elif block == "description" or (block == "" and not features):
            description.append(line)
        else:
            features.append(line)
    if not name and not description and not features and not details:
        return None
    return _build(
        pid,
        language,
        name=name,
        category=category or (categories[0] if categories else ""),
        price=price,
        store=store,
        description=description,
        details=details,
        features=features,
    )


def _looks_like_row(key: str, value: str) -> bool:
    """Whether a "key: value" line inside a description reads as a detail row."""
    return len(key) <= 16 and len(value) <= 80 and not re.search(r"[.。，,“”\"]", key)


def _from_paragraphs(section: str, language: str, pid: str) -> Product | None:
    start, end = section.find("{"), section.rfind("}")
    data: dict[str, str] = {}
    if 0 <= start < end:
        try:
            loaded = json.loads(section[start : end + 1])
            if isinstance(loaded, dict):
                data = {str(k): _flatten(v) for k, v in loaded.items()}
        except ValueError:
            data = {}
    if not data:
        # Not strict JSON (typographic quotes, a full-width colon, a missing comma).
        data = dict(
            re.findall(
                r'["“]([^"“”\n]{1,60})["”]\s*[:：]\s*["“](.+?)["”]\s*[,，]?\s*(?=\n\s*["“]|\n?\s*\}|$)',
                section,
                re.S,
            )
        )
    if not data:
        return None
    description: list[str] = []
    features: list[str] = []
    for key, value in data.items():
        if _HIGHLIGHT_KEYS.search(key):
            features.extend(_sentences(value, language))
        else:
            description.append(value)
    first = next((v for k, v in data.items() if k.strip().lower() in _NAME_KEYS), "")
    first = first or next(iter(data.values()), "")
    return _build(
        pid,
        language,
        name=_subject(first, language),
        category="",
        price="",
        store="",
        description=description,
        details=[],
        features=features,
    )


def _flatten(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_flatten(v) for v in value)
    if isinstance(value, dict):
        return "\n".join(f"{k}: {_flatten(v)}" for k, v in value.items())
    return str(value)


def _subject(text: str, language: str) -> str:
    """The product named by the first sentence ("X is a ...", "X是一款...")."""
    sentence = _sentences(text, language)[:1]
    if not sentence:
        return ""
    s = sentence[0]
    if language == "zh":
        match = re.match(
            r"^(?:该?产品名称?(?:为|是)|本产品)?[“\"《]?(.{2,40}?)[”\"》]?(?:是一|是|为一|属于)", s
        )
    else:
        match = re.match(
            r"^(?:the product(?: name)? is\s+)?(?:the\s+)?(.{2,60}?)(?:,\s*which|\s+is\s+|\s+belongs\s+to\s)",
            s,
            re.I,
        )
    return match.group(1).strip(" ,，") if match else ""


def _sentences(text: str, language: str) -> list[str]:
    pattern = _SENTENCES["zh" if language == "zh" else "en"]
    out = []
    for part in pattern.findall(text):
        part = part.strip(" \t-*•·")
        if _NOISE_LINE.match(part):
            continue
        if len(part) >= (6 if language == "zh" else 12):
            out.append(part.rstrip("。.；;"))
    return out


def _short_name(title: str, language: str) -> str:
    """A product name a customer would say: the title up to its first separator."""
    title = title.strip()
    cuts = [
        m.start()
        for m in re.finditer(
            r" [-–—|] | ?[（(【\[]|，|、|,(?=\S)|, |；|[:：]|——|—| (?:with|for|featuring|by|in) ",
            title,
        )
    ]
    spaces = []
    if language == "zh" or re.search(r"[\u4e00-\u9fff]", title):
        # A space after Chinese text ends the name, unless what precedes is just a brand.
        spaces = [m.start() for m in re.finditer(r"(?<=[\u4e00-\u9fff]) (?=\S)", title)]
    short = title
    for cut in sorted(cuts + spaces):
        head = title[:cut].strip()
        cjk = len(re.findall(r"[\u4e00-\u9fff]", head))
        if cut in spaces and cjk < 6:
            continue
        if len(head) >= 3 and (cjk or len(head.split()) >= 2):
            short = head
            break
    short = short.strip("‘’'")
    if sum(short.count(q) for q in '“”"') % 2:
        short = re.sub(r"[“”\"]", "", short)  # a quote the cut left unbalanced
    return short[:80].strip()


def _tags(text: str, language: str, default: str = "core_quality") -> tuple[str, ...]:
    """The factors a fact bears on (`TAGS_PER_FACT`), its most specific one first."""
    factors = lexicon(language).ranked_factors(text)
    return factors[:TAGS_PER_FACT] or (default,)


def _tag(text: str, language: str, default: str = "core_quality") -> str:
    return _tags(text, language, default)[0]


def _rank_text(value: str, language: str) -> str:
    ranks = re.findall(r"['\"]([^'\"]+)['\"]\s*:\s*#?(\d[\d,]*)", value)
    if not ranks:
        return ""
    best = min(ranks, key=lambda r: int(r[1].replace(",", "")))
    if language == "zh":
        return f"在{best[0]}类畅销榜排名第{best[1]}"
    return f"It ranks #{best[1]} among best sellers in {best[0]}"


def _en_row(key: str, value: str) -> str:
    """A detail row as a sentence: "The item weight is 1.2 kg"."""
    key = key.strip().rstrip("?").lower()
    verb = "are" if key.endswith("s") and not key.endswith(("ss", "us")) else "is"
    return f"The {key} {verb} {value}"


def _detail_fact(key: str, value: str, language: str) -> Fact | None:
    if _JUNK_ROW.search(key) or not value or value.lower() in ("no", "n/a", "none", "否", "无"):
        return None
    if re.search(r"rank|排名|排行", key, re.I):
        text = _rank_text(value, language)
        if not text and re.search(r"[0-9]", value):
            text = f"{key}是{value}" if language == "zh" else _en_row(key, value)
        return Fact("social_proof", text) if text else None
    default = next((f for rx, f in DETAIL_FACTORS if rx.search(key)), None)
    text = f"{key}是{value}" if language == "zh" else _en_row(key, value)
    if default is None:
        default = _tag(f"{key} {value}", language)
    return Fact(default, text)


def _build(
    pid: str,
    language: str,
    *,
    name: str,
    category: str,
    price: str,
    store: str,
    description: list[str],
    details: list[tuple[str, str]],
    features: list[str],
) -> Product:
    facts: list[Fact] = []
    seen: set[Fact] = set()

    def add(fact: Fact | None) -> None:
        if fact and len(re.findall(r"\w", fact.text)) >= 4 and fact not in seen:
            seen.add(fact)
            facts.append(fact)

    def add_tagged(text: str) -> None:
        for factor in _tags(text, language):
            add(Fact(factor, text))

    short = _short_name(name, language) if name else ""
    if price:
        add(Fact("returns_cost", f"价格是{price}" if language == "zh" else f"The price is {price}"))
    for line in features:
        for sentence in _sentences(line, language) or [line]:
            add_tagged(sentence)
    for paragraph in description:
        for sentence in _sentences(paragraph, language):
            add_tagged(sentence)
    for key, value in details:
        add(_detail_fact(key, value, language))
    if name and len(name) > len(short) + 8:
        rest = name[len(short) :].strip(" -–—|,，()（）")
        add(
            Fact(
                _tag(rest, language), f"{short}：{rest}" if language == "zh" else f"{short}: {rest}"
            )
        )
    if store and not any(f.factor == "brand_trust" for f in facts):
        add(Fact("brand_trust", f"由{store}销售" if language == "zh" else f"It is sold by {store}"))
    if not price:  # a money amount in a sentence about the price ("售价199元", "priced at $5")
        for sentence in (s for text in description + features for s in _sentences(text, language)):
            match = _PRICE_IN_TEXT.search(sentence) if _PRICE_WORD.search(sentence) else None
            if match:
                price = match.group(0)
                break
    text = " ".join([name, category, *description, *features])
    finance = bool(_FINANCE.search(f"{category} {name}")) or (
        not category and bool(_FINANCE.search(text))
    )
    generic = "这款产品" if language == "zh" else "this product"
    points = [f for f in features if 4 <= len(f) <= 200][:6]
    return Product(
        id=pid,
        domain="finance" if finance else "consumer",
        category=re.sub(r"\W+", "_", category).strip("_") or ("finance" if finance else ""),
        category_name=category.strip().replace("_", " "),
        name=short or generic,
        price=price,
        facts=tuple(facts),
        selling_points=tuple(points),
    )
