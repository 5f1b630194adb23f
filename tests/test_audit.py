"""report.html: the audit page of hand-made runs, checked by hand, then drawn in Chromium."""

from __future__ import annotations

import html as std_html
import io
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from synthgate import config as cfg
from synthgate.gate import Rule
from synthgate.io.rundir import Run, RunEmbeddings
from synthgate.job import write_run
from synthgate.pipeline import gate_step
from synthgate.regate import regate
from synthgate.report.page import SECTIONS, render_report
from synthgate.report.plots import (
    ACCEPTED,
    MAX_PAIRS,
    REJECTED,
    bin_edges,
    histogram,
    pairs,
    stacked_counts,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COLUMNS = {"text": "text", "label": "label", "source": None, "id": "id"}
NO_SCORERS = {"scorers": {name: {"enabled": False} for name in cfg.default_config()["scorers"]}}
XSS = "<script>alert(1)</script>"
LONG = "loop " * 100  # 500 characters: cut at 240 on the page


def hand_frame() -> pl.DataFrame:
    # hand_run's rules: similarity_cosine in [0.5, 0.98] (HAND_RULES), and the defaults
    # quality_words >= 1, quality_invalid false; unique keeps one row per dedup_cluster.
    return pl.DataFrame(
        {
            "id": list("abcdefgh"),
            "text": ["one", "two", "three", "four", LONG, "six", "seven", XSS],
            "label": ["x", "x", "x", "y", "y", "y", "y", "y"],
            "similarity_cosine": [0.3, 0.49, 0.51, 0.7, 0.99, None, 0.97, 0.6],
            "quality_words": [5, 0, 3, 4, 6, 2, 7, 8],
            "quality_invalid": [False, True, False, False, False, False, False, False],
            "dedup_cluster_size": [0, 0, 1, 0, 9, 0, 2, 0],  # no rule: "other" column
            "dedup_cluster": list("abcdefgd"),  # h copies d, which passes: duplicate_of:d
        }
    )
    # a: similarity<0.5 | b: similarity<0.5, words<1, invalid | e: similarity>0.98
    # f: null similarity, skipped | h: duplicate_of:d | accepted: c d f g


# The page is tested on a gate with a two-sided rule and a unique step over clusters, set
# here rather than taken from the defaults (which have neither on these columns).
HAND_RULES = {"similarity_cosine": {"min": 0.5, "max": 0.98}}


def hand_run(frame: pl.DataFrame | None = None, gate: dict | None = None, **kw) -> Run:
    gate = gate or {}
    gate = {
        "unique": {"column": "dedup_cluster", **gate.get("unique", {})},
        "rules": {**HAND_RULES, **gate.get("rules", {})},
    }
    conf = cfg.merge_config({**NO_SCORERS, "gate": gate})
    frame = hand_frame() if frame is None else frame
    columns = COLUMNS if "label" in frame.columns else {**COLUMNS, "label": None}
    return gate_step(frame, conf, columns, **kw)


@pytest.fixture(scope="module")
def page() -> str:
    return render_report(hand_run(summaries={"discriminator": {"roc_auc": 0.6123}}))


def section(page: str, anchor: str) -> str:
    found = re.search(rf"<section id='{anchor}'>(.*?)</section>", page, re.S)
    assert found, f"no section {anchor!r}"
    return found.group(1)


def block(fragment: str, heading: str) -> str:
    """The part of `fragment` from the <h3> titled `heading` to the next <h3>."""
    found = re.search(rf"<h3[^>]*>{re.escape(heading)}</h3>(.*?)(?=<h3|\Z)", fragment, re.S)
    assert found, f"no block {heading!r}"
    return found.group(1)


def rows(fragment: str) -> list[list[str]]:
    """The body cells of every table in `fragment`, unescaped."""
    body = re.findall(r"<tr>(.*?)</tr>", fragment, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in body]
    return [[std_html.unescape(c) for c in row] for row in cells if row]


def figure_for(page: str, column: str) -> str:
    found = [
        f for f in re.findall(r"<figure>.*?</figure>", page, re.S) if f"<figcaption>{column}:" in f
    ]
    assert len(found) == 1, f"{len(found)} figures for {column}"
    return found[0]


def test_every_section_is_present_and_in_the_navigation(page: str) -> None:
    nav = re.search(r"<nav>(.*?)</nav>", page, re.S).group(1)
    for anchor, _ in SECTIONS:
        assert f"href='#{anchor}'" in nav
        section(page, anchor)


def test_manifest_shows_the_record_and_whether_it_was_regated() -> None:
    record = {
        "synthgate_version": "9.8.7",
        "created": "2030-01-02T03:04:05+00:00",
        "device": "cuda:1",
        "seed": 1234,
        "inputs": {"candidates": {"path": "cand.csv", "sha256": "ab" * 32, "rows": 8}},
        "libraries": {"polars": "2.1.0", "torch": None},
        "timings_s": {"score_quality": 1.25},
    }
    run = hand_run(record=record)
    found = rows(section(render_report(run), "manifest"))
    facts = {row[0]: row[1] for row in found if len(row) == 2}
    assert facts["synthgate version"] == "9.8.7"
    assert facts["created"] == "2030-01-02T03:04:05+00:00"
    assert facts["device"] == "cuda:1"
    assert facts["seed"] == "1234"
    assert facts["config sha256"] == run.record["config_sha256"]
    assert facts["regated"] == "no: gated when scored"
    assert ["candidates", "cand.csv", "ab" * 32, "8"] in found
    assert facts["polars"] == "2.1.0" and facts["torch"] == "not installed"
    assert facts["score_quality"] == "1.25"
    looser = cfg.merge_config({**NO_SCORERS, "gate": {"rules": {"quality_words": {"min": 0}}}})
    again = rows(section(render_report(regate(run, looser)), "manifest"))
    regated = {row[0]: row[1] for row in again if len(row) == 2}["regated"]
    assert regated.startswith("yes: re-gated from")
    assert run.record["config_sha256"] in regated


def test_counts_overall_and_per_label(page: str) -> None:
    found = rows(section(page, "acceptance"))
    assert found[0] == ["8", "4", "4", "50.0%"]
    assert ["x", "3", "1", "2", "33.3%"] in found  # a, b rejected; c accepted
    assert ["y", "5", "3", "2", "60.0%"] in found  # e, h rejected; d, f, g accepted


def test_rules_table_shows_thresholds_and_counts(page: str) -> None:
    part = section(page, "rules")
    rules, reasons = part.split("<h3>Rejections per reason</h3>")
    found = {row[0]: row for row in rows(rules)}
    # similarity rejects a, b, e; alone a and e; f's null was skipped
    assert found["similarity_cosine"] == ["similarity_cosine", "0.5", "0.98", "skip", "3", "2", "1"]
    assert found["quality_words"] == ["quality_words", "1", "", "skip", "1", "0", "0"]
    assert found["quality_invalid"][1:3] == ["", "false (flag)"]
    assert found["unique"][4:6] == ["1", "1"]
    assert ["similarity_cosine>0.98", "1"] in rows(reasons)
    assert "loosening that one rule alone would recover exactly those rows" in part


def test_histograms_mark_each_threshold(page: str) -> None:
    similarity = figure_for(page, "similarity_cosine")
    assert ">min 0.5</text>" in similarity and ">max 0.98</text>" in similarity
    assert ">accepted (3)</text>" in similarity  # c d g: f is null and not drawn
    assert "1 null not drawn" in similarity
    assert ">min 1</text>" in figure_for(page, "quality_words")
    other = figure_for(page, "dedup_cluster_size")  # a score column no rule uses
    assert ">min " not in other and ">max " not in other


def test_flag_columns_are_counted_not_plotted(page: str) -> None:
    found = {row[0]: row for row in rows(section(page, "scores"))}
    # quality_invalid true: b (rejected); false: c d f g accepted, a e h rejected
    assert found["quality_invalid"] == ["quality_invalid", "0", "1", "4", "3", "0", "0"]
    assert "<figcaption>quality_invalid:" not in page


def test_a_users_text_column_rule_is_plotted_as_numbers() -> None:
    # a generator's log-probability read from CSV arrives as text; the gate parses it
    frame = hand_frame().with_columns(
        logprob=pl.Series(["-1.5", "-3", " -2.5", "-0.5", "-1", "", "-2", "-4"])
    )
    page = render_report(hand_run(frame, {"rules": {"logprob": {"min": -2.0}}}))
    assert ">min -2</text>" in figure_for(page, "logprob")
    near = rows(block(section(page, "scores"), "logprob min -2"))
    assert [(r[0].split()[0], r[1], r[2]) for r in near] == [
        ("fails", "-4", "h"),
        ("fails", "-3", "b"),
        ("fails", "-2.5", "c"),
        ("passes", "-2", "g"),
        ("passes", "-1.5", "a"),
        ("passes", "-1", "e"),
    ]


def test_bins_count_accepted_and_rejected_rows_by_hand() -> None:
    values = np.array([0.0, 1.0, 1.0, 3.0, 3.0])
    accepted = np.array([True, True, False, False, False])
    edges = bin_edges(values, integer=True, marks=[2.0])
    assert edges.tolist() == [-0.5, 0.5, 1.5, 2.5, 3.5]  # one bin per integer
    acc, rej = stacked_counts(values, accepted, edges)
    assert acc.tolist() == [1, 1, 0, 0] and rej.tolist() == [0, 1, 0, 2]
    wide = bin_edges(np.array([0.2, 0.4]), integer=False, marks=[0.0, 1.0])
    assert len(wide) == 41
    assert wide[1] < 0.0 and wide[-2] > 1.0  # thresholds widen the range; end bins lie beyond


def test_an_outlier_is_drawn_in_the_end_bin_and_counted() -> None:
    values = np.concatenate([np.linspace(0.0, 1.0, 5000), [1e6]])
    accepted = np.ones(values.size, dtype=bool)
    edges = bin_edges(values, integer=False, marks=[0.9])
    assert edges[-1] < 2.0  # near the 99.9th percentile, not the outlier
    acc, _ = stacked_counts(values, accepted, edges)
    assert acc.sum() == values.size
    assert acc[-1] == ((values >= edges[-2]).sum())  # the outlier is counted in the last bin
    drawn = histogram("x", values, accepted, Rule("x", max=0.9), integer=False)
    assert "beyond the plotted range drawn in the end bins" in drawn
    assert ">max 0.9</text>" in drawn


def test_co_rejection_pairs_and_heat_map(page: str) -> None:
    part = section(page, "co-rejection")
    assert "<figcaption>co-rejection between rules</figcaption>" in part
    # only b is rejected by more than one rule: similarity, words and invalid
    assert rows(part) == [
        ["similarity_cosine", "quality_invalid", "1", "33.3%", "100.0%"],
        ["similarity_cosine", "quality_words", "1", "33.3%", "100.0%"],
        ["quality_invalid", "quality_words", "1", "100.0%", "100.0%"],
    ]


def test_pair_table_keeps_the_pairs_sharing_most_rows() -> None:
    n = 10  # 45 pairs; pair (i, j) shares i + j rows, rule i rejected 2i + 100 rows
    counts = np.add.outer(np.arange(n), np.arange(n)) + np.eye(n, dtype=int) * 100
    found = rows(pairs([f"r{i}" for i in range(n)], counts))
    assert len(found) == MAX_PAIRS
    assert found[0] == ["r8", "r9", "17", "14.7%", "14.4%"]  # 17 / 116 and 17 / 118
    assert "5 more pairs share fewer rows" in pairs([f"r{i}" for i in range(n)], counts)


def test_rejected_rows_are_grouped_by_what_rejected_them(page: str) -> None:
    part = section(page, "examples")
    assert [r[0] for r in rows(block(part, "similarity_cosine"))] == ["a", "e"]
    b = rows(block(part, "quality_invalid + quality_words + similarity_cosine"))
    assert [r[0] for r in b] == ["b"]
    assert b[0][-2] == "quality_invalid; quality_words<1; similarity_cosine<0.5"  # every reason
    unique = rows(block(part, "unique"))
    assert unique[0][:5] == ["h", "y", "d", "false", "duplicate_of:d"]
    text = {r[0]: r[-1] for r in rows(block(part, "similarity_cosine"))}["e"]
    assert text == LONG[:240] + "…"
    shown = [r[0] for r in rows(part)]
    assert sorted(shown) == ["a", "b", "e", "h"]  # each rejected row exactly once


def test_examples_stop_at_five_per_rule() -> None:
    frame = pl.DataFrame({"id": list("abcdefg"), "text": ["t"] * 7, "similarity_cosine": [0.1] * 7})
    part = section(render_report(hand_run(frame)), "examples")
    assert [r[0] for r in rows(block(part, "similarity_cosine"))] == list("abcde")


def test_a_loop_is_one_group_and_its_gopher_reasons_one_entry() -> None:
    loop = "buy now " * 12
    frame = pl.DataFrame(
        {
            "id": list("abcdef"),
            "text": [loop, loop + "x", "fine text here", "t", "t", "t"],
            "similarity_cosine": [0.7, 0.7, 0.7, 0.1, 0.1, 0.1],
            "repetition_top_2gram_frac": [0.9, 0.9, 0.0, 0.0, 0.0, 0.0],
            "repetition_top_3gram_frac": [0.9, 0.9, 0.0, 0.0, 0.0, 0.0],
            "repetition_dup_5gram_frac": [0.8, 0.8, 0.0, 0.0, 0.0, 0.0],
            "repetition_loop_frac": [0.9, 0.1, 0.0, 0.0, 0.0, 0.0],
        }
    )
    page = render_report(hand_run(frame))
    part = section(page, "examples")
    headings = re.findall(r"<h3[^>]*>(.*?)</h3>", part)
    gopher = "repetition n-gram rules (Gopher)"
    # largest group first (ties by name); the three Gopher rules are one family
    assert [std_html.unescape(h) for h in headings] == [
        "similarity_cosine",
        gopher,
        f"{gopher} + repetition_loop_frac",
    ]
    a = rows(block(part, std_html.escape(f"{gopher} + repetition_loop_frac", quote=True)))
    assert a[0][0] == "a" and a[0][-2] == f"repetition_loop_frac>0.5; {gopher}: 3 rules"
    shown = [r[0] for r in rows(part)]
    assert len(shown) == len(set(shown)) == 5
    pairs = rows(section(page, "co-rejection"))
    assert all(not (p[0].startswith("repetition_top") and p[1].startswith("repetition_top"))
               for p in pairs)  # fmt: skip
    assert [p[:3] for p in pairs if "repetition_loop_frac" in p[:2]]  # across families: shown


def test_rows_either_side_of_each_threshold(page: str) -> None:
    part = section(page, "scores")
    low = rows(block(part, "similarity_cosine min 0.5"))
    # failing side: b 0.49, a 0.3; passing side, closest three: c 0.51, h 0.6, d 0.7 (not g)
    assert [(r[0], r[1], r[2]) for r in low] == [
        ("fails (< 0.5)", "0.3", "a"),
        ("fails (< 0.5)", "0.49", "b"),
        ("passes (>= 0.5)", "0.51", "c"),
        ("passes (>= 0.5)", "0.6", "h"),
        ("passes (>= 0.5)", "0.7", "d"),
    ]
    high = rows(block(part, "similarity_cosine max 0.98"))
    assert [(r[0], r[2]) for r in high] == [
        ("passes (<= 0.98)", "h"),
        ("passes (<= 0.98)", "d"),
        ("passes (<= 0.98)", "g"),
        ("fails (> 0.98)", "e"),
    ]


def test_text_is_escaped(page: str) -> None:
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()


def test_page_names_no_external_resource(page: str) -> None:
    assert "src=" not in page and "<link" not in page and "@import" not in page
    assert all(href.startswith("#") for href in re.findall(r"href=['\"]([^'\"]*)", page))
    assert all(url.startswith("#") for url in re.findall(r"url\(([^)]*)\)", page))
    namespaces = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert set(re.findall(r"https?://[^\s'\"<>]*", page)) <= namespaces


def test_discriminator_auc_is_explained(page: str) -> None:
    part = section(page, "discriminator")
    assert ["roc_auc", "0.6123"] in rows(part)
    assert "ROC-AUC 0.5 means real and synthetic rows are indistinguishable" in part


def test_diversity_table_with_and_without_coverage() -> None:
    real = pl.DataFrame(
        {"id": [f"r{i}" for i in range(8)], "text": ["one two"] * 8, "label": ["x", "y"] * 4}
    )
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(16, 4))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    emb = RunEmbeddings(vectors[:8], vectors[8:])
    with_vectors = hand_run(real=real, embeddings=emb)
    part = section(render_report(with_vectors), "diversity")
    everything = with_vectors.report["diversity"]["(all)"]
    row = {r[0]: r for r in rows(part)}["(all)"]
    assert row[1:4] == ["4", "8", "4"]  # 4 accepted beside 8 real, samples of 4
    assert row[-1] == f"{everything['coverage']:.4g}"
    assert "Li et al. 2016" in part and "Naeem et al. 2020" in part
    without = section(render_report(hand_run(real=real)), "diversity")
    assert "Coverage is absent" in without and "coverage</th>" not in without


RULES_OFF = {c: {"enabled": False} for c in cfg.DEFAULT_RULES}
NO_GATE = {"rules": RULES_OFF, "unique": {"enabled": False}}
LOOSE = {  # rules stay on, but every row passes them
    "rules": {
        "similarity_cosine": {"min": 0.0, "max": 1.0},
        "quality_words": {"min": 0},
        "quality_invalid": {"enabled": False},
    },
    "unique": {"enabled": False},
}
EDGE_CASES = {
    "zero accepted": ({}, {"rules": {"quality_words": {"min": 100}}}, "No row was accepted"),
    "zero rejected": ({}, LOOSE, "No row was rejected."),
    "no labels": ({"drop": "label"}, {}, "The candidates have no labels."),
    "all null": ({"null": "similarity_cosine"}, {}, "all 8 values are null"),
    "no rules": ({}, NO_GATE, "No rule is enabled"),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_edge_cases_render(case: str) -> None:
    change, gate, expected = EDGE_CASES[case]
    frame = hand_frame()
    if "drop" in change:
        frame = frame.drop(change["drop"])
    if "null" in change:
        frame = frame.with_columns(pl.lit(None, pl.Float64).alias(change["null"]))
    page = render_report(hand_run(frame, gate))
    for anchor, _ in SECTIONS:
        section(page, anchor)
    assert expected in page


def test_page_draws_in_chromium(tmp_path: Path) -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install playwright")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium")
    from PIL import Image

    out = write_run(hand_run(), tmp_path / "demo")  # writes report.html as a run does
    target = out / "report.html"
    assert "<title>synthgate run: demo</title>" in target.read_text(encoding="utf-8")
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            view = browser.new_page(viewport={"width": 1200, "height": 900})
            view.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            view.on("pageerror", lambda e: errors.append(str(e)))
            view.on("request", lambda r: requests.append(r.url))
            view.goto(target.as_uri())
            # the first screen answers "how many were kept, and why not the rest"
            first = view.evaluate(
                """() => [...document.querySelectorAll('#acceptance svg')]
                       .map(e => e.getBoundingClientRect().bottom)"""
            )
            lead = view.inner_text("#acceptance p")
            folded = view.evaluate(
                "[...document.querySelectorAll('details')].filter(d => !d.open).length"
            )
            height = view.evaluate("document.documentElement.scrollHeight")
            png = view.screenshot(full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert requests == [target.as_uri()]  # nothing fetched beside the page itself
    assert lead == "Kept 4 of 8 candidates (50.0%); rejected 4."
    assert len(first) == 2 and max(first) < 900  # per-label bars and per-rule bars
    assert folded == len(SECTIONS) - 1  # all but the decision wait for a click
    assert height < 1800
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3).astype(int)
    packed = pixels @ np.array([1 << 16, 1 << 8, 1])
    assert (packed != 0xFFFFFF).mean() > 0.05  # not a blank (white) page
    assert len(np.unique(packed)) > 50  # text, tables and plots: many colours
    for colour in (ACCEPTED, REJECTED):  # the histograms' fills were drawn
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(pixels - rgb).max(axis=1) <= 3).sum() > 500, colour


def test_each_rule_shows_its_histogram_then_the_rows_at_its_thresholds(page: str) -> None:
    part = section(page, "scores")
    at = {
        name: part.index(marker)
        for name, marker in (
            ("words", "<h3 id='rule-quality_words'>quality_words</h3>"),
            ("words plot", "<figcaption>quality_words:"),
            ("words min", "<h3 id='near-quality_words-min'>"),
            ("sim", "<h3 id='rule-similarity_cosine'>similarity_cosine</h3>"),
            ("sim plot", "<figcaption>similarity_cosine:"),
            ("sim min", "<h3 id='near-similarity_cosine-min'>"),
            ("sim max", "<h3 id='near-similarity_cosine-max'>"),
        )
    }
    assert list(at) == sorted(at, key=at.get)  # rule by rule, in the gate's rule order
