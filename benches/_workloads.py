"""Seeded, deterministic object graphs for the heapscope benchmarks.

Every builder takes a size and a seed and returns one root object.  Each builder
makes its own ``random.Random(seed)``, so a workload is the same whatever else
was built before it in the process.  Builders keep no references to the objects
they create other than through the returned root: everything below the root is
reachable only through it (apart from module-level classes and interned
constants such as dict keys written as literals), which matters for tools like
guppy3's ``domisize``.

Strings are made with f-strings and ``random`` so that they are separate heap
objects (not interned, not the cached one-character strings), as they would be
after parsing real data.

Use ``build(name, scale)`` for the standard sizes, or call a builder directly.
"""

from __future__ import annotations

import random

SEED = 12345

# --------------------------------------------------------------------------
# records: list of small dicts, like rows decoded from JSON
# --------------------------------------------------------------------------

_FIRST = ("ada", "bob", "cyd", "dee", "eve", "fay", "gus", "hal", "ivy", "jon",
          "kim", "lou", "max", "ned", "oli", "pam", "quin", "rex", "sue", "tom")
_TAG_WORDS = ("red", "green", "blue", "alpha", "beta", "gamma", "prod", "dev",
              "eu", "us", "asia", "new", "old", "hot", "cold", "vip")


def build_records(n: int = 200_000, seed: int = SEED) -> list:
    """``n`` dicts ``{'id': int, 'name': str, 'tags': [3 str], 'score': float}``.

    Ids start at 1,000,000 so none is a cached small int.  Names and tags are
    distinct str objects (tags repeat in value but not in identity).  The four
    keys are shared interned literals, as in most real data.
    """
    rng = random.Random(seed)
    first = _FIRST
    words = _TAG_WORDS
    out = []
    append = out.append
    for i in range(n):
        append({
            "id": 1_000_000 + i,
            "name": f"{first[rng.randrange(len(first))]}-{i:07d}-{rng.getrandbits(24):06x}",
            "tags": [f"#{words[rng.randrange(len(words))]}{rng.randrange(100)}" for _ in range(3)],
            "score": rng.random() * 100.0,
        })
    return out


# --------------------------------------------------------------------------
# tree: nested dict/list document with shared subtrees
# --------------------------------------------------------------------------

TREE_MAX_DEPTH = 48


def build_tree(n: int = 300_000, seed: int = SEED, share_fraction: float = 0.02,
               max_depth: int = TREE_MAX_DEPTH) -> dict:
    """A nested dict/list document of ``n`` nodes (containers and leaves).

    Shape: a random recursive tree.  Each new node hangs under a container
    chosen uniformly among those made so far (so the depth grows like
    ``e * ln(n)``, about 30 for 300,000 nodes, and is capped at ``max_depth``).
    About half the nodes are containers (dicts and lists, evenly), the rest
    leaves (int, float, str).  Dict keys come from a shared pool of
    ``f"field_{position}"`` strings, like keys memoised by a JSON decoder.

    Then ``share_fraction * n`` extra references are added: a container B gets
    an extra parent A chosen among containers strictly shallower than B.  Every
    edge thus goes from a shallower to a deeper node, so the graph stays acyclic
    and no path is longer than the original tree's depth.  Shared subtrees are
    reached several times but must be counted once.
    """
    rng = random.Random(seed)
    keys: list = []

    def key_for(pos: int) -> str:
        while len(keys) <= pos:
            keys.append(f"field_{len(keys)}")
        return keys[pos]

    root: dict = {}
    # containers[i] = (object, depth); the root is a dict at depth 0
    containers = [(root, 0)]
    made = 1
    while made < n:
        parent, depth = containers[rng.randrange(len(containers))]
        if depth + 1 >= max_depth:
            parent, depth = root, 0
        r = rng.random()
        if r < 0.25:
            child = {}
            containers.append((child, depth + 1))
        elif r < 0.5:
            child = []
            containers.append((child, depth + 1))
        elif r < 0.7:
            child = rng.randrange(1_000, 1_000_000_000)
        elif r < 0.85:
            child = rng.random()
        else:
            child = f"v{made}-{rng.getrandbits(32):08x}"
        if type(parent) is dict:
            parent[key_for(len(parent))] = child
        else:
            parent.append(child)
        made += 1

    # Extra parents for some subtrees (DAG: only shallower -> deeper edges).
    by_depth: dict = {}
    for obj, depth in containers:
        by_depth.setdefault(depth, []).append(obj)
    shallower: list = []  # containers of depth < d, grown as d increases
    levels = sorted(by_depth)
    prefix = {}
    for d in levels:
        prefix[d] = len(shallower)
        shallower.extend(by_depth[d])
    n_shared = int(n * share_fraction)
    i = 0
    while i < n_shared:
        target, depth = containers[rng.randrange(1, len(containers))]
        limit = prefix[depth]  # number of containers with depth < target's
        for _ in range(1 + rng.randrange(3)):
            if i >= n_shared:
                break
            parent = shallower[rng.randrange(limit)]
            if type(parent) is dict:
                parent[key_for(len(parent))] = target
            else:
                parent.append(target)
            i += 1
    return root


def tree_depth(root) -> int:
    """Longest container path below ``root`` (root alone has depth 0)."""
    best = 0
    stack = [(root, 0)]
    while stack:
        obj, d = stack.pop()
        if d > best:
            best = d
        if type(obj) is dict:
            stack.extend((v, d + 1) for v in obj.values() if type(v) in (dict, list))
        elif type(obj) is list:
            stack.extend((v, d + 1) for v in obj if type(v) in (dict, list))
    return best


# --------------------------------------------------------------------------
# instances: plain classes and __slots__ classes
# --------------------------------------------------------------------------

class Plain:
    """Ordinary class: on 3.11+ its attributes live in inline values until
    something asks for ``obj.__dict__``."""

    def __init__(self, a, b, c):
        self.a = a
        self.b = b
        self.c = c


class Slotted:
    """Class with three ``__slots__`` and no ``__dict__``."""

    __slots__ = ("a", "b", "c")

    def __init__(self, a, b, c):
        self.a = a
        self.b = b
        self.c = c


def _instances(cls, n: int, seed: int) -> list:
    rng = random.Random(seed)
    return [cls(1_000_000 + i, f"item-{i:07d}-{rng.getrandbits(20):05x}", rng.random())
            for i in range(n)]


def build_plain(n: int = 100_000, seed: int = SEED) -> list:
    """``n`` instances of :class:`Plain` (attributes: int, str, float)."""
    return _instances(Plain, n, seed)


def build_slots(n: int = 100_000, seed: int = SEED) -> list:
    """``n`` instances of :class:`Slotted` (slots: int, str, float)."""
    return _instances(Slotted, n, seed)


def build_instances(n: int = 100_000, seed: int = SEED) -> list:
    """``n`` plain instances followed by ``n`` slotted ones, in one list."""
    return _instances(Plain, n, seed) + _instances(Slotted, n, seed + 1)


# --------------------------------------------------------------------------
# strings: many distinct str and bytes objects
# --------------------------------------------------------------------------

_NON_ASCII = ("é", "ß", "€", "ж", "漢", "🙂")


def build_strings(n: int = 500_000, seed: int = SEED) -> list:
    """``n`` distinct str/bytes objects of 10 to ~80 characters.

    About 70 % ASCII str, 10 % non-ASCII str (1-, 2- and 4-byte kinds), and
    20 % bytes.
    """
    rng = random.Random(seed)
    na = _NON_ASCII
    out = []
    append = out.append
    for i in range(n):
        body = f"{rng.getrandbits(4 * rng.randrange(1, 17)):x}"
        r = rng.random()
        if r < 0.7:
            append(f"s{i}:{body}" * (1 + rng.randrange(3)))
        elif r < 0.8:
            append(f"u{i}{na[rng.randrange(len(na))]}{body}")
        else:
            append(f"b{i}:{body}".encode())
    return out


# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------

# name -> (builder, full-size n, one-line description with {n})
WORKLOADS = {
    "records": (build_records, 200_000,
                "{n:,} dict records {{id, name, tags[3], score}} in a list"),
    "tree": (build_tree, 300_000,
             "{n:,}-node nested dict/list tree with shared subtrees"),
    "plain": (build_plain, 100_000, "{n:,} plain-class instances (3 attributes)"),
    "slots": (build_slots, 100_000, "{n:,} __slots__ instances (3 slots)"),
    "strings": (build_strings, 500_000, "{n:,} distinct str/bytes objects in a list"),
}

# Not in the default set (it is plain + slots together), but available by name.
EXTRA_WORKLOADS = {
    "instances": (build_instances, 100_000,
                  "{n:,} plain + {n:,} __slots__ instances in one list"),
}


def size_for(name: str, scale: float = 1.0) -> int:
    builder, n, _ = _lookup(name)
    return max(1, int(round(n * scale)))


def describe(name: str, scale: float = 1.0) -> str:
    _, _, text = _lookup(name)
    return text.format(n=size_for(name, scale))


def build(name: str, scale: float = 1.0, seed: int = SEED):
    """Build workload ``name`` at ``scale`` times its standard size."""
    builder, _, _ = _lookup(name)
    return builder(size_for(name, scale), seed=seed)


def _lookup(name: str):
    try:
        return WORKLOADS[name]
    except KeyError:
        pass
    try:
        return EXTRA_WORKLOADS[name]
    except KeyError:
        known = ", ".join(list(WORKLOADS) + list(EXTRA_WORKLOADS))
        raise KeyError(f"unknown workload {name!r} (known: {known})") from None
