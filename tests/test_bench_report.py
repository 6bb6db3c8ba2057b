"""The engineering appendix's tables, read from the committed benchmark records."""

import json

import pytest

from selectivity_lib import bench_report
from selectivity_lib.pages import REPO

BENCH = REPO / "benchmarks"


def test_speed_table_is_relative_to_the_plain_loop_of_each_model():
    report = bench_report.speed(BENCH / "cpu-2core.json")
    first = report.table.groupby("model").head(1)
    assert (first["x plain"] == 1).all() and first.path.str.startswith("plain loop").all()
    record = json.loads((BENCH / "cpu-2core.json").read_text())
    assert report.table["% of peak"].iloc[0] == pytest.approx(
        100 * record["rows"][0]["gflop_per_s"] / record["peak_used_gflop_per_s"]
    )
    assert report.heading.startswith("cpu-2core.json: ")


def test_breakdown_and_activation_quotes_come_from_their_records():
    breakdown = bench_report.breakdown(BENCH / "cpu-2core-breakdown.json")
    assert set(breakdown.quoted) == set(bench_report.BREAKDOWN_QUOTES)
    assert breakdown.table["share %"].between(0, 100).all()
    activations = bench_report.activations(BENCH / "cpu-2core-activations.json")
    assert set(activations.quoted) == set(bench_report.ACTIVATION_QUOTES)
    relu = activations.table[activations.table.path.str.startswith("ReLU,")]
    assert (relu["x ReLU"] <= 1).all() and (relu["x ReLU"] == 1).any()


def test_a_missing_record_is_none(tmp_path):
    for read in (bench_report.speed, bench_report.breakdown, bench_report.activations):
        assert read(tmp_path / "none.json") is None
