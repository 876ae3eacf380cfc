"""Fuzzing the walker with random object graphs (tests/fuzzing.py draws them): shared,
cyclic and thousands of levels deep, of builtin containers, strings, ints, bytes and
instances.

Graphs of well-behaved objects must measure exactly as pympler measures them; graphs
with hostile classes (lying or raising ``__sizeof__``, ``__getattr__``, a raising
``__class__``, foreign ``__slots__`` descriptors, ...) must make every heapscope call
return or raise an ordinary exception. The hostile property runs in a child interpreter,
so that a crash fails the test (naming the graph) instead of killing the test run.

HEAPSCOPE_FUZZ=long runs many more examples (see benches/fuzz_graphs.py).
"""
import io
import sys
import sysconfig

import fuzzing
import pytest
from catalog import run_isolated
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pympler")

from heapscope import asizeof as hs  # noqa: E402


def hs_options():
    return hs.DEFAULTS

DEBUG_BUILD = bool(sysconfig.get_config_var("Py_DEBUG"))

settings.load_profile(fuzzing.profile())


@settings(max_examples=fuzzing.examples(300, 20000))
@given(fuzzing.plans(hostile=False), st.sampled_from([0, 1, 2, 5, 100]))
def test_well_behaved_graphs_match_pympler(plan, limit):
    # pympler 1.1 assumes a larger object header on debug builds: sizes differ there
    fuzzing.check_well_behaved(plan, limit, compare_sizes=not DEBUG_BUILD)


OPTION_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 300), st.integers(-(2 ** 80), 2 ** 80),
                          st.floats(), st.sampled_from(["3", b"x", [], 2 ** 32, 2 ** 63, 2 ** 64, 10 ** 30, -10 ** 30]))
OPTIONS = st.dictionaries(st.sampled_from(sorted(set(hs_options()) | {"all", "bogus"})), OPTION_VALUES, max_size=4)
SET_OPTIONS = ("above", "align", "code", "cutoff", "frames", "detail", "limit", "stats")  # Asizer.set's


def valid(opts, names):
    """Options any sizing call must accept: known names, each None (the default, or no
    limit) or an int >= 0, and an alignment that is a power of 2 up to 2**32."""
    align = opts.get("align")
    return (all(k in names and (v is None or (type(v) is int and v >= 0)) for k, v in opts.items())
            and opts.get("stream") is None
            and (align is None or align <= 1 or (align & (align - 1) == 0 and align <= 2 ** 32)))


@settings(max_examples=fuzzing.examples(300, 20000))
@given(fuzzing.plans(hostile=False, max_nodes=6), OPTIONS, st.sampled_from(range(6)))
def test_any_option_values(plan, opts, which):
    # Valid options give a result (pympler takes any int for a depth, width or
    # threshold, and None for the default); others raise TypeError (an unknown name or
    # type) or ValueError (a bad value), never another exception.
    root, nodes = fuzzing.build(plan)
    names = SET_OPTIONS if which in (4, 5) else tuple(hs_options())
    call = [
        lambda: hs.asizeof(root, **opts), lambda: hs.asizesof(*nodes, **opts), lambda: hs.asized(root, **opts),
        lambda: hs.Asizer(**opts).asizeof(root), lambda: hs.Asizer().asizeof(root, **opts),
        lambda: hs.Asizer().asized(root, **opts),
    ][which]
    stdout = sys.stdout
    sys.stdout = io.StringIO()  # stats=N prints
    try:
        call()
    except (TypeError, ValueError):
        assert not valid(opts, names), "refused valid options %r" % (opts,)
    finally:
        sys.stdout = stdout


HOSTILE_CHILD = """
    import sys
    import fuzzing
    from hypothesis import given, settings, strategies as st

    settings.load_profile(fuzzing.profile())
    tried = [0]

    @settings(max_examples=fuzzing.examples({ci}, {long}))
    @given(fuzzing.plans(hostile=True), st.integers(0, 2 ** 32))
    def hostile(plan, seed):
        with open({planfile!r}, "w") as f:
            f.write(repr(plan) + "\\n" + repr(seed))
        tried[0] += 1
        root, nodes = fuzzing.build(plan)
        fuzzing.hostile_calls(root, nodes, seed)

    hostile()
    print("tried", tried[0])
"""


def run_hostile(tmp_path, ci, long, timeout):
    """Run the hostile property in a child interpreter; a crash or a hang names the last
    graph tried."""
    planfile = str(tmp_path / "plan.txt")
    code = HOSTILE_CHILD.format(ci=ci, long=long, planfile=planfile)
    try:
        return run_isolated(code, timeout=timeout)
    except BaseException as exc:
        try:
            with open(planfile) as f:
                last = f.read()
        except OSError:
            last = "(none)"
        raise AssertionError("%s\nlast graph tried (plan, seed):\n%s" % (exc, last)) from None


def test_hostile_graphs_never_crash(tmp_path):
    long = fuzzing.profile() == "long"
    out = run_hostile(tmp_path, ci=250, long=20000, timeout=3600 if long else 120)
    print(out)
    assert "tried" in out
