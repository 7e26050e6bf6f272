"""Rewrite the expected parts of every golden case from the code (then review the diff)."""

from __future__ import annotations

from tests.golden.translation import INPUTS, case_paths, load, normalised, render


def main() -> None:
    for path in case_paths():
        case = load(path)
        inputs = {key: case[key] for key in INPUTS if key in case}
        path.write_text(normalised({**inputs, **render(case)}))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
