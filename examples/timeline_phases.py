"""A small pipeline in three phases: load rows, index them, build a report."""
import time
from heapscope.timeline import mark

def busy(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(range(1000))

def load():
    return [("user%d" % i, float(i), i % 7) for i in range(400_000)]

def index(rows):
    return {name: (score, group) for name, score, group in rows}

def report(table):
    return [f"{name}: {score:.1f}" for name, (score, _) in table.items()]

mark("load")
rows = load()
busy(1.6)
mark("index")
table = index(rows)
busy(1.6)
mark("report")
del rows
lines = report(table)
busy(1.6)
