"""labkit.glance: the "Results at a glance" page, written from a run's results files only."""

from __future__ import annotations

import json
from pathlib import Path

from labkit import glance, reference


def _result(folder: Path, job: str, headline: str, values: dict, **fields) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {"notebook": job.split("-")[0], "profile": "offline", "seed": 3, "real_data": False, "weights": "lab",
              "datasets": [{"name": "garments"}], "wall_seconds": 61.4, "headline": headline, "values": values, **fields}
    (folder / f"{job}.json").write_text(json.dumps(record))


def test_the_page_sets_each_run_beside_its_seed_figure_and_lists_the_verdicts(tmp_path):
    results = tmp_path / "results"
    _result(results, "01_cnn_vs_autokeras", "cnn_test_accuracy", {"cnn_test_accuracy": 0.9012})
    _result(results, "07_transfer_learning-mobilenet_v2", "val_accuracy_after_fine_tuning",
            {"val_accuracy_after_fine_tuning": 0.61,
             "gap": {"gap": 0.2, "standard_error": 0.05, "p_value": 0.004, "real": True,
                     "verdict": "lab weights minus random init: +20.00 points over 3 and 3 seeds"}})
    _result(results, "11_augmentation_ablation", "val_accuracy_all_minus_none",
            {"val_accuracy_all_minus_none": -0.05, "verdicts": {"none": "", "zoom": "zoom minus none: -1.00 points, p = 0.8: noise"}})
    _result(results, "12_feature_maps", "gradcam_test_accuracy", {"gradcam_test_accuracy": 0.5}, weights=None)
    (results / "99_broken.json").write_text("{not json")

    page = glance.write_page(results, tmp_path / "stage", "offline")

    text = page.read_text()
    assert page == tmp_path / "stage" / "book" / "glance.md"
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| [")}
    assert list(rows) == ["[01 cnn vs autokeras](../notebooks/01_cnn_vs_autokeras.ipynb)",
                          "[07 transfer learning-mobilenet v2](../notebooks/07_transfer_learning-mobilenet_v2.ipynb)",
                          "[11 augmentation ablation](../notebooks/11_augmentation_ablation.ipynb)",
                          "[12 feature maps](../notebooks/12_feature_maps.ipynb)"]
    first = rows["[01 cnn vs autokeras](../notebooks/01_cnn_vs_autokeras.ipynb)"]
    assert first.endswith(f"| cnn test accuracy | 0.9012 | {reference.HAND_BUILT_CNN['test_accuracy']:.4f} (Fashion-MNIST) | 61 s |")
    assert "Weights: lab, random init. Seeds: 3 (every run). Data: embedded stand-ins (every run)" in text
    assert "| 07 transfer learning-mobilenet v2 | lab weights minus random init | +20.00 ± 5.00 | 0.004 | **a real difference** |" in text
    assert "| 11 augmentation ablation | zoom minus none | -1.00 | 0.8 | within the noise |" in text and "none minus" not in text
    figure = tmp_path / "stage" / "book" / "glance.png"
    assert "](glance.png)" in text and figure.read_bytes().startswith(b"\x89PNG")


def test_a_run_with_no_results_says_so_and_draws_no_figure(tmp_path):
    page = glance.write_page(tmp_path / "nothing", tmp_path / "stage", "smoke")
    assert "No notebook has recorded results under this profile yet" in page.read_text()
    assert not (tmp_path / "stage" / "book" / "glance.png").exists()


def test_each_page_says_what_produced_it_from_its_results_file(tmp_path):
    results = tmp_path / "results"
    _result(results, "13_evaluation", "test_accuracy", {"test_accuracy": 0.5}, commit="0123456789abcdef0123",
            versions={"python": "3.11.7", "keras": "3.15.1", "tensorflow": "2.21.0"},
            cpu={"model": "Intel(R) Xeon(R) Processor", "cores": 2})
    [result] = glance.load(results)
    line = glance.provenance(result, 12.6)
    assert line.startswith("**This page's run**: profile `offline` · data garments (embedded) · weights lab · seed 3")
    assert "python 3.11.7 · keras 3.15.1 · tensorflow 2.21.0" in line and "commit 0123456789ab" in line
    assert "ran in 13 s on Intel(R) Xeon(R) Processor (2 cores)" in line and "offline/results/13_evaluation.json" in line
    assert glance.provenance(None, None) == "**This page's run**: no results file was recorded."


def test_a_result_without_a_page_is_listed_without_a_link(tmp_path):
    """A notebook run but not in the table of contents: a link to it would fail the strict build."""
    results = tmp_path / "results"
    _result(results, "13_evaluation", "test_accuracy", {"test_accuracy": 0.5})
    _result(results, "99_my_own", "score", {"score": 0.7})
    text = glance.write_page(results, tmp_path / "stage", "offline", pages={"13_evaluation"}).read_text()
    assert "| [13 evaluation](../notebooks/13_evaluation.ipynb) |" in text
    assert "| 99 my own | score | 0.7000 |" in text and "99_my_own.ipynb" not in text
