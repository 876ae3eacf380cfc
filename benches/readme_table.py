"""Rewrite the performance table of README.md from `bench_asizeof.py --json` results,
one file per Python version (each gets its own columns, in the order given).

    python3.11 benches/bench_asizeof.py --json benches/results/asizeof-3.11.json
    python3.14 benches/bench_asizeof.py --json benches/results/asizeof-3.14.json
    python benches/readme_table.py benches/results/asizeof-3.11.json benches/results/asizeof-3.14.json

The table sits between the `<!-- bench-table -->` markers of README.md.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"

LABELS = {
    "records": "records: 200,000 dicts `{id, name, tags: [3 str], score}`",
    "tree": "tree: 300,000-node dict/list tree, shared subtrees",
    "plain": "plain: 100,000 instances, 3 attributes",
    "slots": "slots: 100,000 `__slots__` instances",
    "strings": "strings: 500,000 distinct str/bytes",
}


def version_of(result: dict) -> str:
    return ".".join(result["meta"]["python"].split()[0].split(".")[:2])


def render(results: list) -> str:
    versions = [version_of(r) for r in results]

    def ns(tool: dict) -> str:
        return f"{tool['ns_per_object']:,.1f}" if tool.get("status") == "ok" else "n/a"

    def ratio(tool: dict) -> str:
        return f"{tool['ratio_vs_heapscope']:.1f}x" if tool.get("status") == "ok" else "n/a"

    def per_version(label: str) -> str:
        return " | ".join(f"{label} {v}" for v in versions)

    columns = len(versions)
    rows = [
        f"| workload | objects | {per_version('heapscope ns/obj')} | {per_version('pympler ns/obj')} "
        f"| {per_version('vs pympler')} | {per_version('vs guppy3')} | same as pympler | peak extra bytes/obj |",
        "| --- | ---: |" + " ---: |" * (4 * columns) + " --- | ---: |",
    ]
    for name, first in results[0]["workloads"].items():
        workloads = [r["workloads"].get(name, {"tools": {}}) for r in results]
        tools = [w["tools"] for w in workloads]
        cells = [
            " | ".join(ns(t.get("heapscope", {})) for t in tools),
            " | ".join(ns(t.get("pympler", {})) for t in tools),
            " | ".join(ratio(t.get("pympler", {})) for t in tools),
            " | ".join(ratio(t.get("guppy3", {})) for t in tools),
        ]
        same = all(t.get("pympler", {}).get("same") for t in tools)
        memory = first.get("memory", {}).get("bytes_per_object")
        rows.append(
            f"| {LABELS.get(name, name)} | {first['objects']:,} | {' | '.join(cells)} "
            f"| {'yes' if same else 'no'} | {f'{memory:.1f}' if memory is not None else 'n/a'} |"
        )
    rows.append("")
    for result in results:
        meta = result["meta"]
        rows.append(
            f"Python {meta['python'].split()[0]}: {meta['cpus']} CPUs, load average "
            f"{meta['loadavg_at_start']} at start; heapscope best of {meta['repeats']['heapscope']}, "
            f"pympler {meta['repeats']['pympler']} run(s), guppy3 best of {meta['repeats']['guppy3']}."
        )
    rows.append("")
    rows.append(f"Peak extra bytes/obj is from the first run ({versions[0]}).")
    return "\n".join(rows)


def main(paths: list) -> None:
    results = [json.loads(Path(path).read_text()) for path in paths]
    text = README.read_text()
    table = render(results)
    new, count = re.subn(
        r"(<!-- bench-table -->\n).*?(\n<!-- /bench-table -->)",
        lambda m: m.group(1) + table + m.group(2),
        text,
        flags=re.S,
    )
    if count != 1:
        sys.exit("README.md has no <!-- bench-table --> block")
    README.write_text(new)
    print(table)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
