"""Make the small bundled data sets in `assets/data/` from the full ones in a data directory.

The app falls back to these subsets when neither `$CONVSCOPE_DATA_DIR` nor the Keras cache
holds a data set, so it works offline out of the box. Each subset is stratified (class
proportions kept) and seeded, so rerunning the script gives identical arrays; images keep
their original order. Files use the layout of `keras.datasets.<name>.load_data()`.

Usage:

    python scripts/make_bundled_data.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.base.paths import BUNDLED_DATA_DIR
from core.data.builtin import BUNDLED_FILES, DATA_DIR_FILES
from core.data.splits import stratified_indices

# (training images, test images) per data set; all files together stay under ~15 MB.
SUBSET_SIZES = {
    "mnist": (6000, 1000),
    "fashion_mnist": (6000, 1000),
    "cifar10": (3000, 600),
}
SEED = 0


def make_subset(source: Path, destination: Path, num_train: int, num_test: int) -> None:
    """Write a stratified, seeded subset of the npz `source` to `destination`."""
    with np.load(source, allow_pickle=False) as archive:
        x_train, y_train = archive["x_train"], archive["y_train"]
        x_test, y_test = archive["x_test"], archive["y_test"]
    train = stratified_indices(y_train.reshape(-1).astype(np.int64), num_train, seed=SEED)
    test = stratified_indices(y_test.reshape(-1).astype(np.int64), num_test, seed=SEED)
    destination.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        destination,
        x_train=x_train[train],
        y_train=y_train[train],
        x_test=x_test[test],
        y_test=y_test[test],
    )
    size_mb = destination.stat().st_size / 1e6
    print(f"{destination.name}: {len(train)} train + {len(test)} test, {size_mb:.1f} MB")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="e.g. ../shared/data")
    parser.add_argument("--output-dir", type=Path, default=BUNDLED_DATA_DIR)
    arguments = parser.parse_args(argv)
    for name, (num_train, num_test) in SUBSET_SIZES.items():
        source = next(
            (
                arguments.data_dir / p
                for p in DATA_DIR_FILES[name]
                if (arguments.data_dir / p).is_file()
            ),
            None,
        )
        if source is None:
            parser.error(f"{arguments.data_dir} has no {' or '.join(DATA_DIR_FILES[name])}")
        make_subset(source, arguments.output_dir / BUNDLED_FILES[name], num_train, num_test)


if __name__ == "__main__":
    main()
