"""How fast hostile uploads are refused, next to an ordinary file of the same size.

For every hostile image and zip of the project's corpus (tests/corpus), the fastest of
several refusals is printed beside the fastest read of an ordinary file of about the
same size (noisy PNGs, which hardly compress), as the corpus tests measure them. For
every model the server refuses before any worker sees it (a pickle, a zip bomb, a 1 GiB
claim, ...), the server's check beside the same check of an ordinary small model.

    .venv/bin/python bench/hostile_uploads.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.data.image_folders import load_image_folder_zip
from core.imaging.images import decode_image
from core.jobs.uploads import model_file_problem
from tests.corpus import models, test_images, test_zips


def main() -> None:
    print(f"{'entry':32s} {'size':>9s} {'refused in':>11s} {'ordinary':>10s} {'ratio':>7s}")
    rows = []
    for entry in test_images.HOSTILE:
        data = entry.make()
        ordinary = test_images._ordinary_png(len(data))
        decode_image(ordinary)
        rows.append(
            (
                entry.name,
                len(data),
                test_images._fastest(lambda data=data: test_images._refuse(data)),
                test_images._fastest(lambda ordinary=ordinary: decode_image(ordinary)),
            )
        )
    for entry in test_zips.HOSTILE:
        data = entry.make()
        ordinary = test_zips._ordinary_zip(len(data))
        rows.append(
            (
                entry.name,
                len(data),
                test_zips._fastest(lambda data=data: test_zips._refuse(data)),
                test_zips._fastest(
                    lambda ordinary=ordinary: load_image_folder_zip(ordinary, image_size=16)
                ),
            )
        )
    small = models.built("small_cnn.keras")
    for entry in models.ENTRIES:
        data = entry.make()
        if entry.outcome != "refuse" or model_file_problem(data) is None:
            continue  # accepted, or refused by the worker's load (not a server-side check)
        rows.append(
            (
                entry.name,
                len(data),
                test_zips._fastest(lambda data=data: model_file_problem(data)),
                test_zips._fastest(lambda: model_file_problem(small)),
            )
        )
    for name, size, refused, ordinary in rows:
        print(
            f"{name:32s} {size:>7,d} B {refused * 1e3:>8.3f} ms {ordinary * 1e3:>7.3f} ms "
            f"{ordinary / refused:>6.1f}x"
        )


if __name__ == "__main__":
    main()
