"""``barenet gradcheck``: finite-difference check of every registered layer and loss.

Every name in :data:`barenet.nn.layers.LAYERS` and :data:`barenet.nn.losses.LOSSES` is
checked in float64 on small examples, each class's own (a classmethod
``gradcheck_examples(rng)`` in its file; :mod:`barenet.nn.gradcheck`): a layer added
later without one gets one guessed from its spec. Then one whole model. Prints one row per
check and exits 1 if any fails.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from .arguments import positive_float, positive_int, seed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tolerance", type=positive_float, default=1e-6,
                        help="largest relative error that passes (default 1e-6)")
    parser.add_argument("--eps", type=positive_float, default=1e-6,
                        help="finite-difference step (default 1e-6)")
    parser.add_argument("--max-entries", type=positive_int, default=200,
                        help="entries checked per array at most (default 200)")
    parser.add_argument("--seed", type=seed, default=0, help="random seed (default 0)")
    parser.add_argument("--strict", action="store_true",
                        help="also fail when a layer or loss has no example input")


@dataclass
class Row:
    name: str
    entries: str
    error: str
    verdict: str  # PASS, FAIL, ERROR or SKIP


def check_all(tolerance: float = 1e-6, eps: float = 1e-6, max_entries: int | None = 200,
              seed: int = 0) -> list[Row]:
    """Run every example and return one row per check (or per layer without one)."""
    from ..nn.gradcheck import Example, layer_examples, loss_examples, model_example
    from ..nn.layers import LAYERS
    from ..nn.losses import LOSSES

    rng = np.random.default_rng(seed)
    rows = []
    groups = [(name, LAYERS[name], layer_examples) for name in LAYERS.names()]
    groups += [(name, LOSSES[name], loss_examples) for name in LOSSES.names()]
    for name, cls, examples in groups:
        try:
            cases: list[Example] = examples(name, cls, rng)
        except Exception as exc:  # a broken layer must show up as a row, not a traceback
            rows.append(Row(name, "-", "-", f"ERROR building an example: {exc}"))
            continue
        if not cases:
            rows.append(Row(name, "-", "-", "SKIP no example input"))
        for case in cases:
            rows.append(_run(f"{name} ({case.label})" if case.label else name, case,
                             tolerance, eps, max_entries))
    try:
        rows.append(_run("Sequential", model_example(rng), tolerance, eps, max_entries))
    except Exception as exc:
        rows.append(Row("Sequential", "-", "-", f"ERROR building an example: {exc}"))
    return rows


def _run(name: str, case, tolerance: float, eps: float, max_entries: int | None) -> Row:
    try:
        result = case.check(eps=eps, max_entries=max_entries)
    except Exception as exc:
        return Row(name, "-", "-", f"ERROR {type(exc).__name__}: {exc}")
    worst = result.max_error
    verdict = "PASS" if result.passed(tolerance) else "FAIL"
    if verdict == "FAIL":
        worst_array = max(result.errors, key=result.errors.get)
        verdict += f" (worst: {worst_array})"
    return Row(name, str(result.total_checked), f"{worst:.2e}", verdict)


def format_table(rows: list[Row]) -> str:
    header = Row("check", "entries", "worst rel. error", "result")
    widths = [max(len(getattr(r, f)) for r in [header, *rows])
              for f in ("name", "entries", "error")]
    lines = [f"{r.name:<{widths[0]}}  {r.entries:>{widths[1]}}  {r.error:>{widths[2]}}  "
             f"{r.verdict}" for r in [header, *rows]]
    return "\n".join([lines[0], "-" * max(len(line) for line in lines), *lines[1:]])


def run(args: argparse.Namespace) -> int:
    print(f"gradcheck in float64: central differences, eps={args.eps:g}, "
          f"pass if relative error < {args.tolerance:g}")
    rows = check_all(args.tolerance, args.eps, args.max_entries, args.seed)
    print(format_table(rows))
    failed = [r for r in rows if r.verdict.startswith(("FAIL", "ERROR"))]
    skipped = [r for r in rows if r.verdict.startswith("SKIP")]
    checked = len(rows) - len(skipped)
    print(f"\n{checked - len(failed)} of {checked} checks pass", end="")
    print(f"; no example input for: {', '.join(r.name for r in skipped)}" if skipped else "")
    if skipped:
        print("(add an example: a classmethod gradcheck_examples(rng) -> "
              "[Example(label, layer, x)] on the class)")
    return 1 if failed or (skipped and args.strict) else 0
