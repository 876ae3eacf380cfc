"""Rewrite the performance table of README.md from a `bench_asizeof.py --json` result.

    python benches/bench_asizeof.py --json benches/results/asizeof.json
    python benches/readme_table.py benches/results/asizeof.json

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


def render(result: dict) -> str:
    meta = result["meta"]
    rows = [
        "| workload | objects | heapscope ns/obj | pympler ns/obj | vs pympler | guppy3 ns/obj "
        "| vs guppy3 | same as pympler | peak extra bytes/obj |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for name, workload in result["workloads"].items():
        tools = workload["tools"]
        ours, pympler, guppy = tools["heapscope"], tools.get("pympler", {}), tools.get("guppy3", {})

        def ns(tool: dict) -> str:
            return f"{tool['ns_per_object']:,.1f}" if tool.get("status") == "ok" else "n/a"

        def ratio(tool: dict) -> str:
            return f"{tool['ratio_vs_heapscope']:.1f}x" if tool.get("status") == "ok" else "n/a"

        memory = workload.get("memory", {}).get("bytes_per_object")
        rows.append(
            f"| {LABELS.get(name, name)} | {workload['objects']:,} | {ns(ours)} | {ns(pympler)} "
            f"| {ratio(pympler)} | {ns(guppy)} | {ratio(guppy)} "
            f"| {'yes' if pympler.get('same') else 'no'} "
            f"| {f'{memory:.1f}' if memory is not None else 'n/a'} |"
        )
    rows.append("")
    rows.append(
        f"Measured with Python {meta['python'].split()[0]}, {meta['cpus']} CPUs, load average "
        f"{meta['loadavg_at_start']} at start; heapscope best of {meta['repeats']['heapscope']}, "
        f"pympler {meta['repeats']['pympler']} run(s), guppy3 best of {meta['repeats']['guppy3']}."
    )
    return "\n".join(rows)


def main(path: str) -> None:
    result = json.loads(Path(path).read_text())
    text = README.read_text()
    table = render(result)
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
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
