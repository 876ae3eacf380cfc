"""Fuzz the summary snapshot loader and the ClassTracker stats loader for a while.

    python benches/fuzz_loaders.py --minutes 10

With atheris installed (``pip install atheris``), libFuzzer mutates the seed files
(those tests/fuzzing.py writes and crafts, one byte in front saying which loader), mixed
with the structured mutations of tests/fuzzing.py; without it, the same mutations are
drawn at random. Every input must load (then round-trip, print and render) or be refused
with a ValueError. Prints the cases tried and the failures found; a crash stops the run
(libFuzzer writes the input to ``crash-*``), a wrong result is printed with its input and
the run goes on.
"""
import argparse
import os
import random
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import fuzzing  # noqa: E402

LOADERS = (fuzzing.check_summary_bytes, fuzzing.check_stats_bytes)


class Campaign:
    def __init__(self, minutes):
        self.deadline = time.time() + minutes * 60
        self.tmp = tempfile.mkdtemp()
        self.tried = [0, 0]
        self.loaded = [0, 0]
        self.failures = []
        self.last_report = time.time()

    def one(self, which, data):
        self.tried[which] += 1
        try:
            self.loaded[which] += LOADERS[which](data, self.tmp)
        except Exception:
            self.failures.append((which, data, traceback.format_exc()))
            print("FAILURE (%s), input %r\n%s" % (("summary", "stats")[which], data[:2000], self.failures[-1][2]),
                  flush=True)
        if time.time() - self.last_report > 30:
            self.last_report = time.time()
            self.report(final=False)

    def report(self, final=True):
        print("%s summary: %d tried, %d loaded; stats: %d tried, %d loaded; failures: %d" % (
            "final" if final else "progress", self.tried[0], self.loaded[0], self.tried[1], self.loaded[1],
            len(self.failures)), flush=True)

    def done(self):
        return time.time() >= self.deadline


def seeds():
    return ([s.encode() for s in fuzzing.summary_seeds()], fuzzing.stats_seeds())


def run_random(campaign, seed):
    rnd = random.Random(seed)
    pools = seeds()
    while not campaign.done():
        which = rnd.randrange(2)
        campaign.one(which, fuzzing.mutate(rnd.choice(pools[which]), fuzzing.random_ops(rnd)))


def run_atheris(campaign, seed, atheris):
    pools = seeds()
    corpus = tempfile.mkdtemp(prefix="fuzz-corpus-")
    for which, pool in enumerate(pools):
        for i, data in enumerate(pool):
            with open(os.path.join(corpus, "%d-%d" % (which, i)), "wb") as f:
                f.write(bytes([which]) + data)
    rnd = random.Random(seed)

    def test_one(data):
        if campaign.done():
            campaign.report()
            os._exit(1 if campaign.failures else 0)
        if data:
            campaign.one(data[0] & 1, bytes(data[1:]))

    def mutator(data, max_size, _seed):
        # The Rust loaders are not instrumented, so libFuzzer keeps few inputs: start
        # from a seed file most of the time, then mutate it both ways.
        if len(data) < 2 or rnd.random() < 0.6:
            which = rnd.randrange(2)
            data = bytes([which]) + rnd.choice(pools[which])
        if rnd.random() < 0.7:
            data = data[:1] + fuzzing.mutate(data[1:], fuzzing.random_ops(rnd))
        if rnd.random() < 0.5:
            data = atheris.Mutate(data, max(max_size, len(data) + 64))
        return data[:max(max_size, 1)]

    import heapscope.classtracker_stats  # noqa: F401  (instrumented with what it imports)
    import heapscope.summary  # noqa: F401

    atheris.instrument_all()
    args = [sys.argv[0], corpus, "-timeout=30", "-rss_limit_mb=4096", "-max_len=1000000",
            "-seed=%d" % seed, "-max_total_time=%d" % int(campaign.deadline - time.time() + 60)]
    atheris.Setup(args, test_one, custom_mutator=mutator)
    atheris.Fuzz()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--no-atheris", action="store_true", help="random mutations only")
    opts = parser.parse_args()
    campaign = Campaign(opts.minutes)
    atheris = None
    if not opts.no_atheris:
        try:
            import atheris
        except ImportError:
            print("atheris is not installed: random mutations only")
    print("fuzzing the loaders for %.1f minutes, seed %d, %s" % (
        opts.minutes, opts.seed, "atheris" if atheris else "random mutations"), flush=True)
    if atheris is not None:
        run_atheris(campaign, opts.seed, atheris)
    else:
        run_random(campaign, opts.seed)
    campaign.report()
    return 1 if campaign.failures else 0


if __name__ == "__main__":
    sys.exit(main())
