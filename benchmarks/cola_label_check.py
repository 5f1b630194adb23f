"""Could a fine-tuned grammaticality classifier be CoLA's label check (issue 10)?

    python benchmarks/cola_label_check.py [--model DIR]    # about 7 min on 2 cores

CoLA's labels are grammaticality, which the label scorer's features (sentence embeddings and
character n-grams) barely read, so its off-label rows pass the default gate. This measures the
best model that can be made here without a download: `synthgate train acceptability` (the
embedded all-MiniLM-L6-v2 fine-tuned, all defaults) on the 80% real part of the split
`thresholds.py --gate` uses (plant.holdout, seed 0), then P(label) of each held-out sentence
under its true label (real rows) and under the other label (off-label rows), and what a floor on
P(label) keeps of the first and catches of the second. `--model DIR` reuses a model trained so.
Results: benchmarks/README.md (section thresholds.py, the label floor).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import _paths  # noqa: F401  (tests/ on sys.path, for plant)
import numpy as np
import plant
from sklearn.metrics import matthews_corrcoef, roc_auc_score
from thresholds import SEED, cola

from synthgate.acceptability.classifier import Classifier

FLOORS = (0.01, 0.05, 0.1, 0.2, 0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a model trained as below (skips training)")
    args = parser.parse_args()
    real, held = plant.holdout(cola(), 0.2, seed=SEED)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            data, model = Path(tmp) / "real.tsv", str(Path(tmp) / "model")
            # CoLA's own layout: source, label, original label, sentence
            data.write_text(
                "".join(f"x\t{lab}\t\t{text}\n" for lab, text in real.iter_rows()),
                encoding="utf-8",
            )
            start = time.perf_counter()
            subprocess.run(
                ["synthgate", "train", "acceptability", "--data", str(data), "--out", model],
                check=True,
            )
            print(f"trained on the 80% real part in {time.perf_counter() - start:.0f} s")
        p_acceptable, _ = Classifier(model).p_acceptable(held["text"].to_list())
    acceptable = (held["label"] == "1").to_numpy()
    p_true = np.where(acceptable, p_acceptable, 1 - p_acceptable)
    print(
        f"\n{len(held):,} held-out sentences ({acceptable.mean():.0%} acceptable): ROC-AUC "
        f"{roc_auc_score(acceptable, p_acceptable):.3f}, MCC at 0.5 "
        f"{matthews_corrcoef(acceptable, p_acceptable >= 0.5):.3f}\n"
    )
    print(
        "| floor on P(label) | held-out real kept | off-label caught | acceptable labelled "
        "unacceptable caught | unacceptable labelled acceptable caught |"
    )
    print("|---|---|---|---|---|")
    keep_90 = float(np.quantile(p_true, 0.10))
    for floor in (*FLOORS, keep_90):
        caught = (1 - p_true) < floor  # each row under the other label
        name = f"{floor:.3f}" + (" (keeps 90% of real)" if floor == keep_90 else "")
        print(
            f"| {name} | {(p_true >= floor).mean():.1%} | {caught.mean():.1%} | "
            f"{caught[acceptable].mean():.1%} | {caught[~acceptable].mean():.1%} |"
        )


if __name__ == "__main__":
    main()
