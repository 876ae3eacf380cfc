"""Size a realistic structure with heapscope and print where its memory goes.

    python examples/quickstart.py
"""

import random
import time
from dataclasses import dataclass, field
from typing import List

from heapscope.asizeof import Asizer, asized, asizeof


@dataclass
class Order:
    order_id: int
    customer: str
    lines: List[tuple] = field(default_factory=list)


def build_shop(n_customers: int = 20_000) -> dict:
    rng = random.Random(7)
    products = [f"product-{i}" for i in range(500)]
    customers = {}
    for c in range(n_customers):
        name = f"customer-{c}"
        orders = [
            Order(c * 10 + k, name, [(rng.choice(products), rng.randint(1, 5)) for _ in range(3)])
            for k in range(rng.randint(0, 4))
        ]
        customers[name] = {"email": f"{name}@example.com", "orders": orders, "score": rng.random()}
    return {"products": products, "customers": customers}


def show(tree, top: int = 5, depth: int = 2, indent: str = "") -> None:
    """Print an Asized tree: the `top` largest referents at each level."""
    print(f"{indent}{tree.size:>12,} bytes  {tree.name}")
    if depth:
        for ref in sorted(tree.refs, key=lambda r: r.size, reverse=True)[:top]:
            show(ref, top, depth - 1, indent + "    ")
        if len(tree.refs) > top:
            print(f"{indent}    ... {len(tree.refs) - top:,} more")


def main() -> None:
    shop = build_shop()

    asizeof(shop)  # the first call also sets up the per-type rules
    start = time.perf_counter()
    total = asizeof(shop)
    elapsed = time.perf_counter() - start
    sizer = Asizer()
    sizer.asizeof(shop)
    print(f"shop takes {total:,} bytes ({total / 2**20:.1f} MiB): "
          f"{sizer.sized:,} objects sized in {elapsed * 1000:.1f} ms "
          f"({elapsed * 1e9 / sizer.sized:.0f} ns per object)")

    print("\nWhere the memory goes (largest first):")
    show(asized(shop, detail=2, clip=60))

    first = next(iter(shop["customers"].values()))
    print("\nOne customer record, in full:")
    print(asized(first, detail=4, clip=60).format(format="%(size)8d bytes (flat %(flat)4d)  %(name)s"))


if __name__ == "__main__":
    main()
