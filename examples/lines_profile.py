"""Memory line by line: python -m heapscope lines examples/lines_profile.py"""


@profile  # noqa: F821 - put in the builtins by `python -m heapscope lines`
def build():
    small = [i for i in range(1000)]
    big = b"\x01" * (100 * 2**20)
    rows = [[i] for i in range(200_000)]
    del big
    return small, rows


build()
