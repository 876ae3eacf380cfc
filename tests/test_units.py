"""Byte counts for people: one formatter behind every view."""

import pytest

from heapscope import _core, _html


@pytest.mark.parametrize(
    "n, text",
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (-2048, "-2.0 KiB"),
     (12 * 2**20, "12.0 MiB"), (3 * 2**50, "3.0 PiB")],
)
def test_views_share_one_formatter(n, text):
    assert _core.human_size(n) == text
    assert _html.pretty_size(n) == text


def test_decimals_are_bounded():
    assert _core.human_size(1536, 2) == "1.50 KiB"
    with pytest.raises(ValueError, match="decimals"):
        _core.human_size(1, 99)
