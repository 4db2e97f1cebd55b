"""Text tables and targets of the issue-11 measurements in a ``bench/speed.py`` report.

Every ratio is of two times measured in the same run (mostly in the same process,
round-robin); ``None`` (printed ``-``) when one side was not measured.
"""

from __future__ import annotations

from collections.abc import Iterator

Target = tuple[str, float | None, float]

BATCH_TARGETS = {10: 1.2, 100: 1.15, 1000: 1.15}
OPTION_TARGET, RECIPE_GEMM_TARGET, RECIPE_TORCH_TARGET, JAX_TARGET = 1.2, 1.1, 0.7, 1.0


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing.

    >>> ratio(1.0, 4.0), ratio(None, 2.0)
    (0.25, None)
    """
    return None if a is None or b is None or b == 0 else a / b


def _s(value: float | None, width: int = 7) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.3f}"


def _r(value: float | None, width: int = 7) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.2f}"


def peer_s(section: dict, name: str) -> float | None:
    """A peer's seconds per 50,000-example epoch, if it ran."""
    peer = section.get("peers", {}).get(name, {})
    return peer.get("s_per_50k_epoch") if peer.get("status") == "ok" else None


# --------------------------------------------------------------------------- engines table


def engines_table(workloads: list[dict]) -> str:
    """The reference workloads by engine: NumPy fast path (fnn), compiled (jit), GEMM-only
    from NumPy and from numba (GEMMj: the compiled engine's own BLAS and call path), the
    FLOP floor and JAX; ratios; how far jit is from fnn; the engine training uses."""
    head = (f"{'workload':<10}{'fnn':>7}{'jit':>7}{'GEMM':>7}{'GEMMj':>7}{'floor':>7}{'jax':>7} |"
            f"{'fnn/GEMM':>9}{'jit/GEMM':>9}{'jit/GEMMj':>10}{'jit/floor':>10}{'fnn/jax':>8}"
            f"{'jit/jax':>8}{'target':>7} | {'jit vs fnn':>10} {'chosen':<6}")
    lines = [head, "-" * len(head)]
    for w in workloads:
        best, jax = w["best"], peer_s(w, "jax")
        jit, gemm_jit = best.get("fnn_jit"), best.get("gemm_jit")
        lines.append(
            f"{w['dtype'] + ' b' + str(w['batch']):<10}"
            + "".join(_s(v) for v in (best["fnn"], jit, best["gemm_only"], gemm_jit,
                                      w["flop_floor"], jax))
            + " |" + _r(ratio(best["fnn"], best["gemm_only"]), 9)
            + _r(ratio(jit, best["gemm_only"]), 9) + _r(ratio(jit, gemm_jit), 10)
            + _r(ratio(jit, w["flop_floor"]), 10)
            + _r(ratio(best["fnn"], jax), 8) + _r(ratio(jit, jax), 8)
            + f"{BATCH_TARGETS.get(w['batch'], float('nan')):7.2f} | "
            + f"{_agree(w.get('jit_vs_fnn')):>10} {w.get('chosen') or '-':<6}")
    return "\n".join(lines)


def _agree(check: dict | None) -> str:
    """The relative gap of jit vs NumPy, ! when outside TOLERANCE.

    >>> _agree({"relative_gap": 3e-14, "within": True}), _agree(None)
    ('3e-14', '-')
    """
    if not check:
        return "-"
    return f"{check['relative_gap']:.0e}{'' if check['within'] else '!'}"


# --------------------------------------------------------------------------- option rows


def options_table(section: dict) -> str:
    """One option row per line: seconds per engine, ratio to plain SGD on the same engine,
    to GEMM-only and to the FLOP floor; the engine training chooses; jit vs NumPy."""
    best, base = section["best"], section["rows"][0]
    gemm, gemm_jit, floor = best["gemm|only"], best.get("gemm|jit"), section["flop_floor"]
    head = (f"{'row':<11}{'numba':>7}{'numpy':>7}{'ref':>7} |{'jit/plain':>10}{'np/plain':>9}"
            f"{'ref/plain':>10} |{'jit/GEMM':>9}{'jit/GEMMj':>10}{'np/GEMM':>8}{'jit/floor':>10}"
            f" | {'chosen':<7}{'jit vs np':>10}")
    title = (f"{section['dtype']}, batch 10, 784-30-10, 50,000 examples; GEMM-only "
             f"{gemm:.3f} s (from numba: {_s(gemm_jit, 0)} s), FLOP floor {floor:.3f} s")
    lines = [title, head, "-" * len(head)]
    for row in section["rows"]:
        secs = [best.get(f"{row}|{e}") for e in ("numba", "numpy", "reference")]
        plain = [best.get(f"{base}|{e}") for e in ("numba", "numpy", "reference")]
        check = section["checks"][row]
        lines.append(f"{row:<11}" + "".join(_s(v) for v in secs) + " |"
                     + _r(ratio(secs[0], plain[0]), 10) + _r(ratio(secs[1], plain[1]), 9)
                     + _r(ratio(secs[2], plain[2]), 10) + " |" + _r(ratio(secs[0], gemm), 9)
                     + _r(ratio(secs[0], gemm_jit), 10) + _r(ratio(secs[1], gemm), 8)
                     + _r(ratio(secs[0], floor), 10) + " | "
                     + f"{check['chosen']:<7}{_agree(check.get('jit_vs_numpy')):>10}"
                     + ("" if check["finite"] else "  (diverged: not finite)"))
    alone = [(row, best[f"{row}|update"]) for row in section["rows"] if f"{row}|update" in best]
    plain_jit = best.get(f"{base}|numba")
    if alone and plain_jit:
        lines.append("compiled update pass alone, once per step (no products): " + ", ".join(
            f"{row} {secs:.3f} s = {secs / plain_jit:.2f} x plain SGD's epoch"
            for row, secs in alone))
    return "\n".join(lines)


# --------------------------------------------------------------------------- the recipe


def recipe_table(sections: list[dict]) -> str:
    """The results recipe per thread count: engines, GEMM-only, floor, PyTorch; ratios."""
    head = (f"{'threads':<8}{'clock':<6}{'numba':>7}{'numpy':>7}{'GEMM':>7}{'GEMMj':>7}"
            f"{'floor':>7}{'torch':>7} |{'jit/GEMM':>9}{'jit/GEMMj':>10}{'np/GEMM':>8}"
            f"{'jit/floor':>10}{'jit/torch':>10}{'np/torch':>9} | {'chosen':<7}{'jit vs np':>10}")
    title = ("784-800-10, ReLU, softmax + log-likelihood, momentum 0.9, eta 0.01, lmbda 5, "
             "batch 50, float32, 50,000 examples")
    lines = [title, head, "-" * len(head)]
    for r in sections:
        best, torch = r["best"], peer_s(r, "torch")
        jit, fast, gemm = best.get("recipe|numba"), best.get("recipe|numpy"), best["gemm|only"]
        gemm_jit = best.get("gemm|jit")
        lines.append(f"{r['threads']:<8}{r['clock']:<6}"
                     + "".join(_s(v) for v in (jit, fast, gemm, gemm_jit, r["flop_floor"], torch))
                     + " |" + _r(ratio(jit, gemm), 9) + _r(ratio(jit, gemm_jit), 10)
                     + _r(ratio(fast, gemm), 8) + _r(ratio(jit, r["flop_floor"]), 10)
                     + _r(ratio(jit, torch), 10) + _r(ratio(fast, torch), 9)
                     + f" | {r['checks']['chosen']:<7}"
                     + f"{_agree(r['checks'].get('jit_vs_numpy')):>10}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- without numba


def without_numba_table(section: dict) -> str:
    """fnn / GEMM-only of the NumPy path with numba hidden, at the old tree, and as saved."""
    saved = section.get("issue10_after", {})
    head = (f"{'workload':<10}{'now':>7}{'old':>7}{'now/old':>8} |{'now/GEMM':>9}"
            f"{'old/GEMM':>9}{'saved/GEMM':>11} | chosen without numba")
    old = section.get("old_commit") or "-"
    title = (f"NumPy fast path, numba hidden (now) and at commit {old} (old, "
             f"{section.get('old_tree_status')}); saved: bench/results/speed-issue10-after.json")
    lines = [title, head, "-" * len(head)]
    for row in section["workloads"]:
        now, was = row["now"]["best"], row.get("old", {}).get("best", {})
        key = f"{row['dtype']} b{row['batch']}"
        lines.append(f"{key:<10}" + _s(now["fnn"]) + _s(was.get("fnn"))
                     + _r(ratio(now["fnn"], was.get("fnn")), 8) + " |"
                     + _r(ratio(now["fnn"], now["gemm_only"]), 9)
                     + _r(ratio(was.get("fnn"), was.get("gemm_only")), 9)
                     + _r(saved.get(key), 11) + f" | {row['now'].get('chosen')}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- streaming


def stream_table(sections: list[dict]) -> str:
    """Each engine's epoch with shuffled, sequential and cache-resident rows, ÷ GEMM-only."""
    head = (f"{'workload':<10}{'engine':<7}{'shuffled':>9}{'sequent.':>9}{'resident':>9}"
            f"{'GEMM':>7}{'GEMMj':>7} |{'shuf/GEMM':>10}{'seq/GEMM':>9}{'res/GEMM':>9}"
            f"{'res/GEMMj':>10}{'streaming':>10}")
    lines = [head, "-" * len(head)]
    for w in sections:
        best, gemm, gemm_jit = w["best"], w["best"]["gemm_only"], w["best"].get("gemm_jit")
        for engine in w["engines"]:
            s = [best[f"{engine}|{kind}"] for kind in ("shuffled", "sequential", "resident")]
            share = ratio(s[0] - s[2], s[0])
            own = ratio(s[2], gemm_jit) if engine == "numba" else None
            lines.append(f"{w['dtype'] + ' b' + str(w['batch']):<10}{engine:<7}"
                         + "".join(_s(v, 9) for v in s) + _s(gemm) + _s(gemm_jit) + " |"
                         + "".join(_r(ratio(v, gemm), 10 if i == 0 else 9)
                                   for i, v in enumerate(s))
                         + _r(own, 10) + f"{'-' if share is None else f'{share:.0%}':>10}")
    return "\n".join(lines)


def perf_table(runs: list[dict]) -> str:
    """perf's shares by library for each recorded order, and the hottest BLAS functions."""
    lines = []
    for run in runs:
        if run.get("status") != "ok":
            lines.append(f"  {run['order']}: perf {run.get('status')}: {run.get('error', '')}")
            continue
        shares = ", ".join(f"{name} {share:.1f}%" for name, share in
                           sorted(run["by_library"].items(), key=lambda kv: -kv[1])
                           if share >= 0.5)
        blas = ", ".join(f"{name} {share:.1f}%" for name, share in run["blas_top"].items())
        where = f"{run['engine']} {run['dtype']} b{run['batch']}, {run['order']} rows"
        hot = (f"hottest 256-byte window {run['jit_hottest_window']:.1f}% of all samples, "
               f"two hottest {run['jit_two_hottest_windows']:.1f}%")
        lines += [f"  {where}: {shares}", f"    BLAS functions: {blas}", f"    JIT code: {hot}"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- targets


def issue11_targets(report: dict) -> list[Target]:
    """(what, measured ratio, limit) for every issue-11 target this run measured."""
    return [*_batch_targets(report.get("workloads", [])),
            *_jax_targets(report.get("workloads", [])),
            *_option_targets(report.get("options", [])),
            *_recipe_targets(report.get("recipe", [])),
            *_numpy_targets(report.get("without_numba"))]


def _batch_targets(workloads: list[dict]) -> Iterator[Target]:
    for w in workloads:
        jit = w["best"].get("fnn_jit")
        if jit is not None:
            yield (f"jit / GEMM only ({w['dtype']}, b{w['batch']})",
                   ratio(jit, w["best"]["gemm_only"]), BATCH_TARGETS[w["batch"]])


def _jax_targets(workloads: list[dict]) -> Iterator[Target]:
    for w in workloads:
        jit, jax = w["best"].get("fnn_jit"), peer_s(w, "jax")
        if jit is not None and "jax" in w.get("peers", {}):
            yield (f"jit / JAX lax.scan ({w['dtype']}, b{w['batch']})", ratio(jit, jax),
                   JAX_TARGET)


def _option_targets(sections: list[dict]) -> Iterator[Target]:
    for section in sections:
        best, base = section["best"], section["rows"][0]
        for engine in ("numba", "numpy"):
            for row in section["rows"][1:]:
                if f"{row}|{engine}" in best:
                    yield (f"{row} / plain SGD, {engine} ({section['dtype']}, b10)",
                           ratio(best[f"{row}|{engine}"], best[f"{base}|{engine}"]),
                           OPTION_TARGET)


def _recipe_targets(sections: list[dict]) -> Iterator[Target]:
    for r in sections:
        best, torch = r["best"], peer_s(r, "torch")
        for engine, key in (("jit", "recipe|numba"), ("numpy", "recipe|numpy")):
            if key in best:
                yield (f"recipe {engine} / GEMM only ({r['threads']} thr)",
                       ratio(best[key], best["gemm|only"]), RECIPE_GEMM_TARGET)
                yield (f"recipe {engine} / PyTorch ({r['threads']} thr)", ratio(best[key], torch),
                       RECIPE_TORCH_TARGET)


def _numpy_targets(section: dict | None) -> Iterator[Target]:
    """Without numba, the NumPy path's fnn/GEMM ÷ the old tree's (≤ 1: today's or better)."""
    for row in (section or {}).get("workloads", []):
        if "old" in row:
            now, was = row["now"]["best"], row["old"]["best"]
            yield (f"no numba: (fnn/GEMM now) / (at old) ({row['dtype']}, b{row['batch']})",
                   ratio(ratio(now["fnn"], now["gemm_only"]),
                         ratio(was["fnn"], was["gemm_only"])), 1.0)
