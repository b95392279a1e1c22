"""Checks one seed category file against the schema (run: python check_category_file.py FILE)."""

import re
import sys

import yaml

FACTORS = {
    "returns_cost", "safety_protection", "brand_trust", "core_quality", "transparency_terms",
    "support_after_sales", "convenience_digital", "availability_delivery", "social_proof",
    "fit_flexibility",
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def bilingual(node, where):
    assert isinstance(node, dict) and set(node) >= {"zh", "en"}, f"{where}: needs zh and en"
    assert CJK.search(node["zh"]), f"{where}: zh text has no Chinese"
    assert not CJK.search(node["en"]), f"{where}: en text has Chinese"
    assert node["zh"].strip() and node["en"].strip(), f"{where}: empty text"


def tagged(items, where, n):
    assert len(items) >= n, f"{where}: needs at least {n} items, has {len(items)}"
    for i, item in enumerate(items):
        assert item.get("factor") in FACTORS, f"{where}[{i}]: factor {item.get('factor')!r} unknown"
        bilingual(item, f"{where}[{i}]")


def main(path):
    data = yaml.safe_load(open(path, encoding="utf-8"))
    cats = {c["id"]: c for c in data["categories"]}
    for cid, c in cats.items():
        assert c["domain"] in {"finance", "consumer"}
        bilingual(c["name"], f"{cid}.name")
        tagged(c["motivations"], f"{cid}.motivations", 6)
        tagged(c["pain_points"], f"{cid}.pain_points", 6)
    ids = set()
    per_cat = {cid: 0 for cid in cats}
    for p in data["products"]:
        pid = p["id"]
        assert re.fullmatch(r"[a-z0-9_]+", pid), f"{pid}: id must be snake_case"
        assert pid not in ids, f"{pid}: duplicate id"
        ids.add(pid)
        assert p["category"] in cats, f"{pid}: category {p['category']} not in this file"
        per_cat[p["category"]] += 1
        bilingual(p["name"], f"{pid}.name")
        bilingual(p["price"], f"{pid}.price")
        tagged(p["facts"], f"{pid}.facts", 6)
        assert len({f["factor"] for f in p["facts"]}) >= 5, f"{pid}: facts must cover >= 5 factors"
        assert any(re.search(r"\d", f["en"]) for f in p["facts"]), f"{pid}: no fact has a number"
        sp = p["selling_points"]
        assert len(sp) >= 3, f"{pid}: needs 3 selling points"
        for i, s in enumerate(sp):
            bilingual(s, f"{pid}.selling_points[{i}]")
    for cid, n in per_cat.items():
        assert n >= data.get("min_products_per_category", 3), f"{cid}: only {n} products"
    print(f"OK {path}: {len(cats)} categories, {len(ids)} products")


if __name__ == "__main__":
    main(sys.argv[1])
