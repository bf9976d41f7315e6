"""The human-readable table of a resolve benchmark run (the JSON results hold the same figures)."""

from __future__ import annotations

from typing import Any

LATENCY_HEADER = f"  {'run':<16}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'200s':>9}{'degraded':>10}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def render(results: dict[str, Any]) -> str:
    """Header, then one block per budget."""
    return "\n".join(
        [
            "",
            *_header(results["meta"]),
            "",
            *_throughput(results["throughput"], results["meta"]),
            "",
            *_http(results["http_recommender"]),
            "",
            *_hung(results["hung_recommender"]),
        ]
    )


def _header(meta: dict[str, Any]) -> list[str]:
    return [
        "Tessera resolve benchmark",
        f"  machine: {meta['cores']} cores, Python {meta['python']}",
        f"  load generator: {meta['load_generator']} ({meta['load_generator_note']})",
        f"  every server: gunicorn {meta['gunicorn']}, 127.0.0.1",
        f"  temporary instance seeded with {meta['seed_shoppers']} shoppers in {meta['seed_s']:.1f} s",
    ]


def _throughput_row(name: str, t: dict[str, Any]) -> str:
    return (
        f"  {name:<26}{t['rps']:>9.1f}{t['requests']:>9}{t['p50_ms']:>9.2f}{t['p99_ms']:>9.2f}"
        f"{t['non_2xx']:>9}{t['errors']:>8}{t['degraded']:>10}"
    )


def _throughput_header() -> str:
    return f"  {'server':<26}{'req/s':>9}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'errors':>8}{'degraded':>10}"


def _throughput(a: dict[str, Any], meta: dict[str, Any]) -> list[str]:
    t, b = a["tessera"], a["bare"]
    cfg = meta["config"]
    lines = [
        f"(a) Throughput, embedded defaults (SQLite, in-process recommender): concurrency {t['concurrency']}, "
        f"keep-alive, {t['duration_s']:g} s after {cfg['warmup_s']:g} s warm-up",
        _throughput_header(),
        _throughput_row("tessera resolve (home, US)", t),
        _throughput_row("bare flask JSON (/bare)", b),
        f"  ratio resolve/bare = {a['ratio']:.3f}   budget >= 0.50   {verdict(a['pass'])}",
    ]
    return lines + _problems(a["tessera_log_problems"])


def _latency_row(name: str, r: dict[str, Any]) -> str:
    return (
        f"  {name:<16}{r['requests']:>6}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['max_ms']:>9.2f}"
        f"{r['share_200'] * 100:>8.1f}%{r['degraded']:>10}"
    )


def _http(h: dict[str, Any]) -> list[str]:
    direct, seq, conc, busy = h["fake_direct"], h["sequential"], h["concurrent"], h["throughput"]
    lines = [
        f"(b) Recommender over HTTP answering in L = {h['L_ms']:g} ms; page '{h['page']['slug']}' with "
        f"{h['page']['personalized_slots']} personalized slots (each with a popular fallback)",
        LATENCY_HEADER,
        _latency_row("fake directly", direct),
        _latency_row("resolve c=1", seq),
        _latency_row(f"resolve c={conc['concurrency']}", conc),
        f"  {h['budget']}:  c=1 {verdict(h['pass_sequential'])}   c={conc['concurrency']} "
        f"{verdict(h['pass_concurrent'])}   (overhead over L at c=1: p50 {seq['p50_ms'] - h['L_ms']:+.2f} ms)",
        f"  throughput at concurrency {busy['concurrency']} (gthread, 2 workers x 8 threads): {busy['rps']:.1f} req/s, "
        f"p50 {busy['p50_ms']:.2f} ms, p99 {busy['p99_ms']:.2f} ms, {busy['non_2xx']} non-2xx, "
        f"{busy['errors']} errors, {busy['degraded']} degraded of {busy['requests']}",
    ]
    return lines + _problems(h["tessera_log_problems"])


def _hung(c: dict[str, Any]) -> list[str]:
    seq, conc = c["sequential"], c["concurrent"]
    recovered = c["recovered_after_s"]
    back = f"{recovered:.2f} s" if recovered is not None else "not within 30 s"
    return [
        f"(c) Hung recommender (page deadline {c['deadline_ms']} ms)",
        LATENCY_HEADER,
        _latency_row("resolve c=1", seq),
        _latency_row(f"resolve c={conc['concurrency']}", conc),
        f"  {c['budget']}:  {verdict(c['pass'])}",
        f"  switched back to ok: first undegraded page after {back}",
    ]


def _problems(lines: list[str]) -> list[str]:
    if not lines:
        return ["  server log: no errors"]
    return ["  server log problems:", *(f"    {line}" for line in lines)]
