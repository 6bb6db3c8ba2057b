"""The networks shipped in runs/ are the ones their results came from: a committed run's units.npz and test
accuracy recompute from its best.pt. The committed runs were evaluated under bf16 autocast on the CPU that
trained them; the recomputation here is fp32, which moves a unit's selectivity index by at most 0.001 and
its precision by at most 4 of its top 1,000 images (measured on alpha = 0, seed 3). The tolerances below are
five times that, and far below any difference the book reports."""

from pathlib import Path

import numpy as np
import pytest
import torch

from selectivity_lib.cca import pwcca_distance
from selectivity_lib.cca_experiment import evaluation_subset, layer_activations, load_cca, load_network
from selectivity_lib.data import normalize
from selectivity_lib.runfolder import BEST, METRICS, UNITS, read_metrics, read_record, run_key
from selectivity_lib.selectivity import spatial_means, unit_statistics

REPO = Path(__file__).resolve().parents[1]
SHARED_CIFAR = REPO.parent / "shared" / "data" / "cifar10-jpg"
SHIPPED = [
    "runs/full/resnet20/alpha=0/seed=3",
    "runs/full/resnet20/alpha=-10/seed=3",
    "runs/full/resnet20/alpha=0/seed=4",
]  # a network of each kind the paper compares (alpha = 0, a strong penalty), and a second alpha = 0 for pairs


@pytest.mark.skipif(not SHARED_CIFAR.is_dir(), reason="the offline CIFAR-10 copy is not beside the repository")
@pytest.mark.parametrize("run", SHIPPED[:2])
def test_units_and_accuracy_recompute_from_the_shipped_weights(run):
    folder = REPO / run
    if not (folder / UNITS).is_file():
        pytest.skip(f"{run} is not trained yet")  # listed ahead of its training; its weights must come with it
    assert (folder / BEST).is_file(), f"{run} is committed without its weights"
    record = read_record(folder)
    net = load_network(folder, "this test")
    images, labels = evaluation_subset(record["data"]["name"], 10_000, 0, str(SHARED_CIFAR))  # the whole test set
    responses, correct = [], 0
    with torch.no_grad():
        for i in range(0, len(labels), 1000):
            logits, maps = net(normalize(images[i : i + 1000], channels_last=False), return_units=True)
            responses.append(spatial_means(maps))
            correct += int((logits.argmax(1) == labels[i : i + 1000]).sum())
    stats = unit_statistics(torch.cat(responses), labels, 10, read_metrics(folder)["precision_top_n_used"])
    with np.load(folder / UNITS) as shipped:
        np.testing.assert_allclose(stats["si"].numpy(), shipped["si"], atol=0.005)
        np.testing.assert_allclose(stats["precision"].numpy(), shipped["precision"], atol=0.02)
        np.testing.assert_allclose(stats["class_means"].numpy(), shipped["class_means"], rtol=0.02, atol=0.02)
        assert (stats["dead"].numpy() == shipped["dead"]).all()
    assert correct / len(labels) == pytest.approx(read_metrics(folder)["test_acc"], abs=0.005)


@pytest.mark.skipif(not SHARED_CIFAR.is_dir(), reason="the offline CIFAR-10 copy is not beside the repository")
def test_a_committed_cca_pair_recomputes_from_the_shipped_weights():
    """One pair of shipped networks in the committed CCA table: its PWCCA distances at three layers (first,
    middle, last) come back from the weights, with the table's own sampling, to within 0.001 (both fp32)."""
    complete = [REPO / run for run in SHIPPED if (REPO / run / BEST).is_file() and (REPO / run / METRICS).is_file()]
    shipped = {run_key(folder): folder for folder in complete}
    table = load_cca(REPO / "runs" / "full" / "resnet20")
    pairs = table[table.run_a.isin(list(shipped)) & table.run_b.isin(list(shipped))] if not table.empty else table
    if pairs.empty:
        pytest.skip("no pair of shipped networks in the committed CCA table yet")
    pair = pairs[pairs.pair == pairs.pair.iloc[0]]
    pair = pair[(pair.run_a == pair.run_a.iloc[0]) & (pair.run_b == pair.run_b.iloc[0])]
    first = pair.iloc[0]
    images, _ = evaluation_subset(first.dataset, int(first.n_images), int(first.sample_seed), str(SHARED_CIFAR))
    acts = [
        layer_activations(shipped[key], images, first.reduce, int(first.max_datapoints), int(first.sample_seed))
        for key in (first.run_a, first.run_b)
    ]
    layers = sorted(pair.layer_index)
    for i in (layers[0], layers[len(layers) // 2], layers[-1]):
        committed = pair.loc[pair.layer_index == i, "distance"].item()
        assert pwcca_distance(acts[0][i], acts[1][i]) == pytest.approx(committed, abs=1e-3), pair.layer.iloc[i]
