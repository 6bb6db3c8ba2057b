import json

from selectivity_lib.bench import run_benchmark


def test_benchmark_times_every_path_in_its_own_process_and_reports_figures(tmp_path, capsys):
    out = tmp_path / "bench.json"
    report = run_benchmark(
        models=("resnet20",),
        steps={"resnet20": 2},
        rounds=2,
        batch_size=32,
        device="cpu",
        data_dir=str(tmp_path / "no-cifar-here"),  # falls back to synthetic images
        compile=False,
        json_out=str(out),
    )
    assert report["data"] == "synthetic"
    paths = [row["path"] for row in report["rows"]]
    assert paths[0].startswith("plain loop") and paths[1:] == ["trainer, alpha = 0", "trainer, alpha = -1"]
    for row in report["rows"]:
        assert row["images_per_s"] > 0 and row["peak_memory_mib"] > 0 and row["gflop_per_s"] > 0
        assert len(row["all_rounds_images_per_s"]) == 2
    summary = report["summary"]["resnet20"]["eager"]
    base = report["rows"][0]["images_per_s"]
    assert summary["speedup_alpha_0"] == report["rows"][1]["images_per_s"] / base
    assert json.loads(out.read_text())["summary"] == report["summary"]
    printed = capsys.readouterr().out
    assert "x plain" in printed and "selectivity-term overhead" in printed
