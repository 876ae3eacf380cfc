"""Fuzz the walker with random object graphs for a while.

    python benches/fuzz_graphs.py --minutes 10

Runs the two properties of tests/test_fuzz_graphs.py (graphs of well-behaved objects
measure as pympler measures them; hostile graphs never crash heapscope) in child
interpreters, batch after batch, until the time is up, half the time each. A failing
example is shrunk by hypothesis and printed; a crash or a hang prints the last graph
tried and the run goes on in a fresh child. Prints cases tried and failures found.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(os.path.dirname(HERE), "tests")

CHILD = r"""
import faulthandler, sys, time
faulthandler.enable()
import fuzzing
from hypothesis import given, settings, strategies as st

settings.load_profile("long")
deadline = time.time() + {seconds}
tried = [0]
failures = 0

def record(plan, seed):
    with open({planfile!r}, "w") as f:
        f.write(repr(plan) + "\n" + repr(seed))
    tried[0] += 1

if {hostile}:
    @settings(max_examples=300)
    @given(fuzzing.plans(hostile=True), st.integers(0, 2 ** 32))
    def prop(plan, seed):
        record(plan, seed)
        root, nodes = fuzzing.build(plan)
        fuzzing.hostile_calls(root, nodes, seed)
else:
    import sysconfig
    debug = bool(sysconfig.get_config_var("Py_DEBUG"))

    @settings(max_examples=300)
    @given(fuzzing.plans(hostile=False), st.sampled_from([0, 1, 2, 5, 100]))
    def prop(plan, limit):
        record(plan, limit)
        fuzzing.check_well_behaved(plan, limit, compare_sizes=not debug)

while time.time() < deadline:
    try:
        prop()
    except Exception as exc:
        failures += 1
        print("FAILURE:", repr(exc)[:3000], flush=True)
print("tried", tried[0], "failures", failures, flush=True)
"""


def batch(hostile, seconds, planfile):
    code = CHILD.format(seconds=seconds, planfile=planfile, hostile=hostile)
    env = dict(os.environ, PYTHONPATH=TESTS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=seconds + 300, env=env)
        out, rc = proc.stdout + proc.stderr[-3000:], proc.returncode
    except subprocess.TimeoutExpired as exc:
        out, rc = "HANG\n" + (exc.stdout or b"").decode(errors="replace")[-3000:], "timeout"
    tried = failures = 0
    for line in out.splitlines():
        if line.startswith("tried "):
            parts = line.split()
            tried, failures = int(parts[1]), int(parts[3])
        elif line.startswith("FAILURE"):
            print(line, flush=True)
    crashed = rc != 0
    if crashed:
        with open(planfile) as f:
            last = f.read()
        print("CRASH (exit %s) of the %s property; last graph tried:\n%s\n%s" % (
            rc, "hostile" if hostile else "pympler", last, out[-3000:]), flush=True)
    return tried, failures, crashed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--batch-seconds", type=float, default=60.0)
    opts = parser.parse_args()
    planfile = os.path.join(tempfile.mkdtemp(), "plan.txt")
    end = time.time() + opts.minutes * 60
    figures = {True: [0, 0, 0], False: [0, 0, 0]}
    hostile = True
    while time.time() < end:
        seconds = max(5.0, min(opts.batch_seconds, end - time.time()))
        tried, failures, crashed = batch(hostile, seconds, planfile)
        fig = figures[hostile]
        fig[0] += tried
        fig[1] += failures
        fig[2] += crashed
        print("progress: hostile %s tried, %s failures, %s crashes; pympler %s tried, %s failures, %s crashes" % (
            *figures[True], *figures[False]), flush=True)
        hostile = not hostile
    print("final: hostile %s tried, %s failures, %s crashes; pympler %s tried, %s failures, %s crashes" % (
        *figures[True], *figures[False]))
    return 1 if any(figures[True][1:] + figures[False][1:]) else 0


if __name__ == "__main__":
    sys.exit(main())
