"""feedscrub benchmarks: every target of issue 15 as measured/target, in one run.

    python bench/run.py                   # 1-5 (2 against morss when bench/.peers/morss exists)
    python bench/run.py --compare-morss   # install morss as a peer first if need be
    python bench/run.py --only 3          # one of 1 2 3 4 5 (or the older a b c)
    python bench/run.py --repeat 3        # repeats per median (default 5)

1. Cold, all-in: server CPU for the first request of a 500-item seed-like feed, per item,
   ÷ the floor (lxml parse of the feed + lxml.html parse and serialise of each item).  ≤ 3×
   Context: the same with every rule pack off.
2. Cold first response (wall) of a 100-item seed-like feed through the server ÷ morss's,
   interleaved, same bytes from the same local upstream.                              ≤ 1×
   Context: the same with every rule pack off (what the pipeline costs besides cleaning).
3. Refresh: server CPU to rebuild after 1 of 100 items changed upstream ÷ a cold build.  ≤ 5 %
   Context: the same request when nothing changed, and the build alone in process.
4. Warm: bare aiohttp handler CPU per request ÷ feedscrub's for cached requests of the same
   bytes, interleaved rounds at 50 connections.                                       ≥ 0.9×
5. Memory and the event loop: peak RSS at 20,000 items ÷ (2 × the raw body + 80 MB), ≤ 1;
   the longest /healthz wait while a 5,000-item build runs.                           ≤ 50 ms
(a) the older in-process clean+render ratio, printed as context with 1.

Server CPU is read from /proc (every thread, ns), so the client's own work is not counted.
Everything runs on 127.0.0.1: the upstream and the servers are started here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import NOISE, short_seed  # noqa: E402
from targets_cold import bench_1, bench_2, bench_3, bench_3_builds, bench_a  # noqa: E402
from targets_serving import bench_4, bench_5_loop, bench_5_rss  # noqa: E402


def _ok(good: bool) -> str:
    return "meets" if good else "MISSES"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("1", "2", "3", "4", "5", "a", "b", "c"))
    parser.add_argument("--repeat", type=int, default=5, help="runs per median (default 5)")
    parser.add_argument(
        "--compare-morss",
        action="store_true",
        help="install morss into bench/.peers/morss if need be and run 2 against it",
    )
    parser.add_argument("--rss-items", type=int, default=20000, help="items for 5's RSS")
    args = parser.parse_args()
    only = {"b": "4", "c": "5"}.get(args.only or "", args.only)
    repeat = args.repeat
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(NOISE)
    if only in (None, "1", "a"):
        a = bench_a(repeat=repeat)
        print(
            f"(a) in process, clean+rewrite+sanitise+render {a['feedscrub_us_per_item']:.0f} "
            f"µs/item vs lxml fragment parse+serialise {a['floor_us_per_item']:.0f}: "
            f"{a['ratio']:.2f}× (context)"
        )
    if only in (None, "1"):
        r = asyncio.run(bench_1(repeat=repeat))
        print(
            f"1. cold all-in {r['ratio']:.2f}× / ≤ 3× the floor [{_ok(r['ratio'] <= 3)}]: "
            f"server CPU {r['ours_us']:.0f} µs/item vs floor {r['floor_us']:.0f} µs/item "
            f"({r['items']} items; first response {r['wall_ms']:.0f} ms)"
        )
        print(
            f"   context: every rule pack off, {r['rules_off_us']:.0f} µs/item, "
            f"{r['rules_off_us'] / r['floor_us']:.2f}× the floor (the seed's junk then goes "
            f"through the sanitiser, the rewrite and the output instead)"
        )
    if only in (None, "2"):
        import peer_morss

        morss = peer_morss.installed()
        if args.compare_morss and not morss:
            peer_morss.install()
            morss = True
        r = asyncio.run(bench_2(repeat=repeat, morss=morss))
        if "ratio" in r:
            print(
                f"2. cold first response {r['ratio']:.2f}× / ≤ 1× morss "
                f"[{_ok(r['ratio'] <= 1)}]: feedscrub {r['ours_ms']:.0f} ms "
                f"({r['ours_items']} items) vs morss {r['peer_ms']:.0f} ms "
                f"({r['peer_items']} items), {r['items']}-item feed of {r['kb']:.0f} KB "
                f"(morss reads at most 500 KiB of a body, crawler.SizeLimitHandler)"
            )
            print(
                f"   context: every rule pack off, feedscrub {r['rules_off_ms']:.0f} ms, "
                f"{r['rules_off_ratio']:.2f}× morss (what the cleaning costs on top)"
            )
            # Short items keep the feed under morss's 500 KiB: both serve every item.
            r = asyncio.run(bench_2(repeat=repeat, morss=morss, html=short_seed()))
            print(
                f"   same with short items ({r['kb']:.0f} KB): {r['ratio']:.2f}× "
                f"[{_ok(r['ratio'] <= 1)}]: feedscrub {r['ours_ms']:.0f} ms "
                f"({r['ours_items']} items) vs morss {r['peer_ms']:.0f} ms "
                f"({r['peer_items']} items)"
            )
        else:
            print(
                f"2. cold first response: feedscrub {r['ours_ms']:.0f} ms for {r['items']} "
                f"items ({r['rules_off_ms']:.0f} ms with every rule pack off); morss not "
                f"installed (run with --compare-morss for the ratio)"
            )
    if only in (None, "3"):
        r = asyncio.run(bench_3(repeat=repeat))
        print(
            f"3. refresh, 1 of {r['items']} items changed: {r['ratio'] * 100:.0f} % / ≤ 5 % "
            f"of a cold build [{_ok(r['ratio'] <= 0.05)}]: server CPU {r['refresh_ms']:.0f} ms "
            f"vs cold {r['cold_ms']:.0f} ms (nothing changed: {r['unchanged_ms']:.1f} ms, "
            f"{r['unchanged_ms'] / r['cold_ms'] * 100:.1f} % of a cold build)"
        )
        b = asyncio.run(bench_3_builds(repeat=repeat))
        print(
            f"   context: the build alone, in process (parse, clean, render; no fetch, store "
            f"or serving): {b['ratio'] * 100:.1f} %, {b['refresh_ms']:.1f} ms vs cold "
            f"{b['cold_ms']:.0f} ms"
        )
    if only in (None, "4"):
        r = asyncio.run(bench_4(rounds=repeat))
        print(
            f"4. warm {r['ratio']:.2f}× / ≥ 0.9× a bare aiohttp handler "
            f"[{_ok(r['ratio'] >= 0.9)}]: server CPU {r['ours_us']:.0f} µs/request vs bare "
            f"{r['bare_us']:.0f} µs ({r['bytes']} bytes and the same {r['headers']} headers, "
            f"{r['concurrency']} connections; "
            f"req/s ratio {r['rps_ratio']:.2f}, the older (b))"
        )
    if only in (None, "5"):
        r = asyncio.run(bench_5_rss(items=args.rss_items))
        print(
            f"5. peak RSS {r['ratio']:.2f} / ≤ 1 of (2 × raw + 80 MB) [{_ok(r['ratio'] <= 1)}]: "
            f"{r['peak_mb']:.0f} MB vs {r['budget_mb']:.0f} MB for {r['items']} items, "
            f"{r['raw_mb']:.0f} MB raw ({r['peak_mb'] / r['raw_mb']:.1f}× raw; idle "
            f"{r['idle_mb']:.0f} MB; built in {r['seconds']:.0f} s)"
        )
        r = asyncio.run(bench_5_loop())
        print(
            f"5. longest event-loop wait {r['max_wait_ms']:.0f} ms / ≤ 50 ms during a "
            f"{r['items']}-item build [{_ok(r['max_wait_ms'] <= 50)}]: /healthz every 5 ms, "
            f"{r['probes']} probes, p99 {r['p99_wait_ms']:.0f} ms, idle max "
            f"{r['idle_max_ms']:.0f} ms; build {r['build_s']:.1f} s; peak RSS both formats "
            f"{r['peak_mb']:.0f} MB ({r['mb']:.0f} MB feed, the older (c))"
        )


if __name__ == "__main__":
    main()
