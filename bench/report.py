"""The human-readable table of a resolve benchmark run (the JSON results hold the same figures)."""

from __future__ import annotations

from typing import Any

from bench.cpu import LOAD_GENERATOR, REST

LATENCY_HEADER = (
    f"  {'run':<16}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'200s':>9}{'degraded':>10}"
    f"{'CPU ms/req tessera':>20}{'fake':>7}"
)
THROUGHPUT_HEADER = (
    f"  {'server':<26}{'req/s':>9}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'errors':>8}"
    f"{'degraded':>10}{'CPU ms/req server':>19}{'loadgen':>9}{'rest':>7}"
)


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
        f"  code: commit {meta['code']['commit']}"
        + (" + uncommitted changes" if meta["code"]["uncommitted_changes_outside_bench"] else ""),
        f"  machine: {meta['cores']} cores, Python {meta['python']}",
        f"  load generator: {meta['load_generator']} ({meta['load_generator_note']})",
        f"  every server: gunicorn {meta['gunicorn']}, 127.0.0.1",
        "  CPU ms/req: CPU time per request by process group; 'rest' = other processes and unattributed kernel work",
        f"  temporary instance seeded with {meta['seed_shoppers']} shoppers in {meta['seed_s']:.1f} s",
    ]


def _throughput_row(name: str, server: str, t: dict[str, Any]) -> str:
    cpu = t["cpu_ms_per_request"]
    return (
        f"  {name:<26}{t['rps']:>9.1f}{t['requests']:>9}{t['p50_ms']:>9.2f}{t['p99_ms']:>9.2f}"
        f"{t['non_2xx']:>9}{t['errors']:>8}{t['degraded']:>10}{cpu[server]:>19.3f}{cpu[LOAD_GENERATOR]:>9.3f}"
        f"{cpu[REST]:>7.3f}"
    )


def _throughput(a: dict[str, Any], meta: dict[str, Any]) -> list[str]:
    t, b = a["tessera"], a["bare"]
    lines = [
        f"(a) Throughput, embedded defaults (SQLite, in-process recommender): concurrency {t['concurrency']}, "
        f"keep-alive, {t['duration_s']:g} s after {meta['config']['warmup_s']:g} s warm-up, varying shoppers",
        THROUGHPUT_HEADER,
        _throughput_row("tessera resolve (home, US)", "tessera", t),
        _throughput_row("bare flask JSON (/bare)", "bare", b),
        f"  ratio resolve/bare = {a['ratio']:.3f} (median round; rounds: "
        f"{', '.join(f'{r:.3f}' for r in a.get('ratios', [a['ratio']]))})   budget >= 0.50, p99 < 50 ms   "
        f"{verdict(a['pass'])}   (CPU cost per request, bare/resolve = {a['cpu_cost_ratio']:.3f})",
    ]
    return lines + _problems(a["tessera_log_problems"])


def _latency_row(name: str, r: dict[str, Any]) -> str:
    cpu = r.get("cpu_ms_per_request", {})
    tessera, fake = cpu.get("tessera"), cpu.get("fake_recommender")
    cpu_text = f"{tessera:>20.2f}{fake:>7.2f}" if tessera is not None and fake is not None else f"{'':>20}{'':>7}"
    return (
        f"  {name:<16}{r['requests']:>6}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['max_ms']:>9.2f}"
        f"{r['share_200'] * 100:>8.1f}%{r['degraded']:>10}{cpu_text}"
    )


def _http(h: dict[str, Any]) -> list[str]:
    direct, seq, conc, busy = h["fake_direct"], h["sequential"], h["concurrent"], h["throughput"]
    cpu = busy["cpu_ms_per_request"]
    lines = [
        f"(b) Recommender over HTTP answering in L = {h['L_ms']:g} ms; page '{h['page']['slug']}' with "
        f"{h['page']['personalized_slots']} personalized slots (each with a popular fallback)",
        LATENCY_HEADER,
        _latency_row("fake directly", direct),
        _latency_row("fake, page batch", h["fake_direct_page_batch"]),
        _latency_row("resolve c=1", seq),
        _latency_row(f"resolve c={conc['concurrency']}", conc),
        f"  {h['budget']}:  c=1 {verdict(h['pass_sequential'])}   c={conc['concurrency']} "
        f"{verdict(h['pass_concurrent'])}   (c=1 p50 over L: {seq['p50_ms'] - h['L_ms']:+.2f} ms; "
        f"over the fake's measured p50: {seq['p50_ms'] - direct['p50_ms']:+.2f} ms; over its answer to the page's "
        f"batch: {seq['p50_ms'] - h['fake_direct_page_batch']['p50_ms']:+.2f} ms)",
        f"  throughput at concurrency {busy['concurrency']}, no reuse (every page asks the recommender): "
        f"{busy['rps']:.1f} req/s, p50 {busy['p50_ms']:.2f} ms, p99 {busy['p99_ms']:.2f} ms, {busy['non_2xx']} non-2xx, "
        f"{busy['errors']} errors, {busy['degraded']} degraded of {busy['requests']}",
        f"    CPU ms/request: tessera {cpu['tessera']:.2f}, fake recommender {cpu['fake_recommender']:.2f}, "
        f"load generator {cpu[LOAD_GENERATOR]:.2f}, rest of machine {cpu[REST]:.2f}",
    ]
    if "throughput_defaults" in h:
        lines += _http_defaults(h)
    if direct["p50_ms"] > h["L_ms"] + 5:
        lines.append(
            f"  WARNING: the fake recommender itself answers in {direct['p50_ms']:.1f} ms (p50), not L = "
            f"{h['L_ms']:g} ms, on a keep-alive connection; compare resolve with the 'fake directly' row."
        )
    return lines + _problems(h["tessera_log_problems"])


def _http_defaults(h: dict[str, Any]) -> list[str]:
    d = h["throughput_defaults"]
    cpu = d["cpu_ms_per_request"]
    return [
        f"  throughput at concurrency {d['concurrency']}, shipped defaults (pages and personal answers reused), "
        f"after a warm-up that sees every shopper: {d['rps']:.1f} req/s, p50 {d['p50_ms']:.2f} ms, "
        f"p99 {d['p99_ms']:.2f} ms, {d['non_2xx']} non-2xx, {d['errors']} errors, {d['degraded']} degraded of "
        f"{d['requests']}; recommender calls per request {d['recommender_calls_per_request']}",
        f"    CPU ms/request: tessera {cpu['tessera']:.2f}, fake recommender {cpu['fake_recommender']:.2f}, "
        f"load generator {cpu[LOAD_GENERATOR]:.2f}, rest of machine {cpu[REST]:.2f}",
        f"  {h['budget_throughput']}:  {verdict(h['pass_throughput'])}",
        *_problems(d["tessera_log_problems"]),
    ]


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
