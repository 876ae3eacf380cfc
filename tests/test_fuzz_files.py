"""Fuzzing the two file loaders: heapscope.summary.load / Summary.from_json
(docs/snapshot-format.md) and the ClassTracker stats loader (docs/classtracker-format.md).

Each input is a valid file heapscope wrote, or a crafted one, mutated (tests/fuzzing.py:
cut short, bytes flipped, slices spliced or deleted, numbers replaced by huge, negative,
fractional or string ones, deep nesting, duplicate keys, values of the parsed document
replaced or deleted). It must load, and then round-trip, print and render, or be refused
with a ValueError (SnapshotError is one). Each batch runs in a child interpreter with a
timeout, so that a crash or a hang fails the test and names the input.

HEAPSCOPE_FUZZ=long runs many more examples (see benches/fuzz_loaders.py for atheris).
"""
import fuzzing
from catalog import run_isolated

CHILD = """
    import tempfile
    import fuzzing
    from hypothesis import given, settings, strategies as st

    settings.load_profile(fuzzing.profile())
    seeds = [s.encode() if isinstance(s, str) else s for s in fuzzing.{seeds}()]
    tmp = tempfile.mkdtemp()
    counts = [0, 0]

    for seed in seeds:  # every seed as it is
        fuzzing.{check}(seed, tmp)

    @settings(max_examples=fuzzing.examples({ci}, {long}))
    @given(st.integers(0, len(seeds) - 1), fuzzing.mutation_ops)
    def mutated(which, ops):
        data = fuzzing.mutate(seeds[which], ops)
        with open({inputfile!r}, "wb") as f:
            f.write(data)
        counts[0] += 1
        counts[1] += fuzzing.{check}(data, tmp)

    mutated()
    print("tried", counts[0], "loaded", counts[1])
"""


def run_loader_fuzz(tmp_path, seeds, check):
    inputfile = str(tmp_path / "input.bin")
    long = fuzzing.profile() == "long"
    code = CHILD.format(seeds=seeds, check=check, ci=1000, long=50000, inputfile=inputfile)
    try:
        out = run_isolated(code, timeout=3600 if long else 120)
    except BaseException as exc:
        try:
            with open(inputfile, "rb") as f:
                last = f.read()
        except OSError:
            last = b"(none)"
        raise AssertionError("%s\nlast input tried (%d bytes): %r" % (exc, len(last), last[:3000])) from None
    print(out)
    assert "tried" in out


def test_summary_loader_fuzz(tmp_path):
    run_loader_fuzz(tmp_path, "summary_seeds", "check_summary_bytes")


def test_stats_loader_fuzz(tmp_path):
    run_loader_fuzz(tmp_path, "stats_seeds", "check_stats_bytes")
