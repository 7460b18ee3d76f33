"""Wall time of each notebook under the runner, against the budgets the issues set.

    .venv/bin/python benchmarks/notebooks.py --profile smoke [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import tempfile

from labkit import runner

# Seconds per notebook (runner wall time, kernel start included), by profile.
BUDGETS = {
    "smoke": {
        "00_data_tour": 90,
        "01_cnn_vs_autokeras": 90,
        "02_optimizer_sweep": 90,
        "03_activation_sweep": 90,
        "04_filter_sweep": 90,
        "05_hyperparameter_search": 30,
    },
    # The whole offline course: well under an hour.
    "offline": {
        "00_data_tour": 120,
        "01_cnn_vs_autokeras": 600,
        "02_optimizer_sweep": 720,
        "03_activation_sweep": 780,
        "04_filter_sweep": 1200,
        "05_hyperparameter_search": 180,
    },
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke", choices=sorted(BUDGETS))
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labkit-bench-") as build:
        rows = runner.run(args.notebooks, profile=args.profile, build_dir=build)
    print(runner.format_table(rows))
    print()
    missed = 0
    for row in rows:
        budget = BUDGETS[args.profile].get(row.notebook)
        verdict = "no budget" if budget is None else ("met" if row.ok and row.seconds <= budget else "MISSED")
        missed += verdict == "MISSED"
        print(f"{row.notebook:<24} {row.seconds:7.1f} s   budget {budget or '-':>5} s   {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
