"""Runs pympler's own test suite against heapscope.

Usage: python .ci/pympler_suite.py SDIST [--known-failures FILE]

SDIST is pympler's source distribution (a .tar.gz from PyPI) or a folder it was
unpacked into. Its ``test/`` folder is copied into a temporary folder, every import of
``pympler`` is rewritten to import ``heapscope`` instead, and the copy is run with pytest
in the current interpreter, which must have heapscope installed. The script prints

    pympler's own tests against heapscope: N passed, M failed, K errors

and exits with status 1 when a test fails (or errors) that is not in the known-failure
list, 0 otherwise. Each line of the list is a test id relative to ``test/`` (as pytest
names it, e.g. ``asizeof/test_asizeof.py::AsizeofTest::test_adict``), then whitespace
and a one-line reason; blank lines and lines starting with ``#`` are ignored. A listed
test that now passes is reported, so that the list can be shortened, but does not fail
the run. Nothing is downloaded: the sdist is fetched beforehand (``pip download``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

# `import pympler.x as y`, `import pympler.x`, `from pympler import x`,
# `from pympler.x import y`, and the qualified uses `pympler.x.f()` that follow
# `import pympler.x`. Words such as 'pympler_test' (a temporary file's prefix) stay.
_IMPORT = re.compile(r"\bpympler(?=[. ])")


def rewrite(source: str) -> str:
    """Returns a test module's source with its uses of the `pympler` package renamed."""
    out = []
    for line in source.splitlines(keepends=True):
        stripped = line.lstrip()
        if stripped.startswith(("import ", "from ")) or "pympler." in line:
            line = _IMPORT.sub("heapscope", line)
        out.append(line)
    return "".join(out)


def unpack(sdist: Path, into: Path) -> Path:
    """Returns the sdist's `test/` folder, unpacking the archive into `into` first."""
    if sdist.is_dir():
        root = sdist
    else:
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if "/test/" in m.name + "/"]
            for member in members:
                if member.name.startswith("/") or ".." in member.name.split("/") or not (
                    member.isfile() or member.isdir()
                ):
                    raise SystemExit(f"{sdist}: unexpected member {member.name!r}, not a plain file")
            archive.extractall(into, members=members)  # checked above (Pythons before 3.12 lack filter=)
        (root,) = [p for p in into.iterdir() if p.is_dir()]
    tests = root / "test"
    if not tests.is_dir():
        raise SystemExit(f"no test/ folder in {sdist}: pass pympler's sdist (.tar.gz)")
    return tests


def read_known(path: Path | None) -> dict[str, str]:
    """Returns the known failures on this interpreter: test id -> reason. A reason that
    starts with `python>=X.Y` applies from that version on only."""
    known: dict[str, str] = {}
    if path is None:
        return known
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test_id, _, reason = line.partition(" ")
        if reason.startswith("python>="):
            since, _, reason = reason.partition(" ")
            try:
                version = tuple(int(part) for part in since[len("python>="):].split("."))
            except ValueError:
                raise SystemExit(f"{path}:{number}: write the version as python>=3.14") from None
            if sys.version_info[: len(version)] < version:
                continue
        if not reason.strip():
            raise SystemExit(f"{path}:{number}: give a one-line reason after the test id")
        known[test_id] = reason.strip()
    return known


def results(junit: Path) -> dict[str, str]:
    """Returns test id -> 'passed', 'failed', 'error' or 'skipped' from pytest's XML."""
    outcome: dict[str, str] = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        # classname is "test.asizeof.test_asizeof.AsizeofTest" (the module's dotted path,
        # then the class); a module that could not be collected has no classname and
        # its dotted path as the name.
        dotted = [p for p in case.get("classname", "").split(".") if p]
        dotted += case.get("name", "").split(".") if not dotted else [case.get("name", "")]
        if dotted[:1] == ["test"]:
            dotted = dotted[1:]
        test_id = ".".join(dotted)
        for split in range(len(dotted), 0, -1):
            candidate = "/".join(dotted[:split]) + ".py"
            if (junit.parent / candidate).is_file():
                test_id = "::".join([candidate, *dotted[split:]])
                break
        state = "passed"
        for child in case:
            if child.tag == "failure":
                state = "failed"
            elif child.tag == "error":
                state = "error"
            elif child.tag == "skipped":
                state = "skipped"
        # A teardown error after a failure keeps the worse of the two.
        if outcome.get(test_id) in ("failed", "error") and state == "passed":
            continue
        outcome[test_id] = state
    return outcome


def main() -> int:
    """Runs the suite; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sdist", type=Path, help="pympler's sdist (.tar.gz) or its folder")
    parser.add_argument("--known-failures", type=Path, help="test ids allowed to fail")
    parser.add_argument("--timeout", type=float, default=120, help="seconds for the run")
    args = parser.parse_args()
    known = read_known(args.known_failures)

    with tempfile.TemporaryDirectory(prefix="pympler-suite-") as scratch:
        scratch_path = Path(scratch)
        source = unpack(args.sdist, scratch_path / "sdist")
        tests = scratch_path / "run" / "test"
        shutil.copytree(source, tests)
        for module in tests.rglob("*.py"):
            module.write_text(rewrite(module.read_text()))
        # pympler's runner imports the tests from inside `test/` (`muppy.test_summary`,
        # a name one test checks): without `test/__init__.py`, pytest does the same.
        (tests / "__init__.py").unlink(missing_ok=True)
        outcome: dict[str, str] = {}
        runs: list[list[str]] = [[]]
        for number, selection in enumerate(runs):
            junit = tests / f"junit-{number}.xml"
            command = [
                sys.executable, "-m", "pytest", *selection, "-q", "-p", "no:cacheprovider",
                "-o", "junit_family=xunit1", f"--junitxml={junit}", "--continue-on-collection-errors",
                "--rootdir", str(tests), "--import-mode=prepend",
            ]  # fmt: skip
            try:
                run = subprocess.run(command, cwd=tests, timeout=args.timeout, capture_output=True, text=True)
            except subprocess.TimeoutExpired:
                print(f"pympler's own tests did not finish in {args.timeout:g} s ({' '.join(selection)})")
                return 1
            if not junit.is_file():
                print(run.stdout[-5000:], run.stderr[-5000:], sep="\n")
                print("pytest wrote no results: see its output above")
                return 1
            outcome.update(results(junit))

    passed = sorted(t for t, s in outcome.items() if s == "passed")
    failed = sorted(t for t, s in outcome.items() if s == "failed")
    errors = sorted(t for t, s in outcome.items() if s == "error")
    skipped = sorted(t for t, s in outcome.items() if s == "skipped")
    line = (
        f"pympler's own tests against heapscope: {len(passed)} passed, "
        f"{len(failed)} failed, {len(errors)} errors"
    )
    if skipped:
        line += f", {len(skipped)} skipped"
    print(line)
    unexpected = [t for t in failed + errors if t not in known]
    for test_id in failed + errors:
        reason = known.get(test_id)
        if reason is not None:
            print(f"  known: {test_id}: {reason}")
    fixed = [t for t in known if outcome.get(t) == "passed"]
    for test_id in fixed:
        print(f"  now passes, remove it from the known failures: {test_id}")
    missing = [t for t in known if t not in outcome]
    for test_id in missing:
        print(f"  listed as a known failure but not run: {test_id}")
    if unexpected:
        print(run.stdout[-20000:])
        for test_id in unexpected:
            print(f"  UNEXPECTED {outcome[test_id]}: {test_id}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
