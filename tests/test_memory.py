"""``linalg.memory``: sizes, the NTKCHECK_MEMORY_LIMIT cap, fits and require (direct tests)."""

from __future__ import annotations

import pytest

from ntkcheck.errors import EstimationError
from ntkcheck.linalg.memory import (
    USABLE_FRACTION,
    available_bytes,
    fits,
    format_bytes,
    memory_limit,
    parse_bytes,
    require,
)


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [("4G", 4 << 30), ("512M", 512 << 20), ("512MiB", 512 << 20), ("512mb", 512 << 20),
     ("64K", 64 << 10), ("1T", 1 << 40), ("1.5G", 3 << 29), ("1000", 1000), (" 2g ", 2 << 30)],
)  # fmt: skip
def test_parse_bytes(text, nbytes):
    assert parse_bytes(text) == nbytes


@pytest.mark.parametrize("text", ["0", "-1G", "G", "lots", "nan", "inf", "0.5"])
def test_parse_bytes_refuses_what_is_not_a_size(text):
    with pytest.raises(EstimationError, match="is not a size; write a positive size"):
        parse_bytes(text)


def test_the_limit_caps_the_available_memory(monkeypatch):
    monkeypatch.setenv("NTKCHECK_MEMORY_LIMIT", "100M")
    assert memory_limit() == 100 << 20
    assert available_bytes() == 100 << 20
    monkeypatch.setenv("NTKCHECK_MEMORY_LIMIT", "  ")
    assert memory_limit() is None
    assert available_bytes() > 0  # the machine's (MemAvailable or physical memory)
    monkeypatch.setenv("NTKCHECK_MEMORY_LIMIT", "a lot")
    with pytest.raises(EstimationError, match="NTKCHECK_MEMORY_LIMIT='a lot'"):
        available_bytes()


def test_fits_and_require_use_the_usable_share(monkeypatch):
    monkeypatch.setenv("NTKCHECK_MEMORY_LIMIT", "100M")
    usable = USABLE_FRACTION * (100 << 20)  # 80 MiB
    assert fits(usable) and fits(0)
    assert not fits(usable + 1)
    require(usable, "K0", "use --spectrum lanczos")  # exactly at the share: accepted
    with pytest.raises(EstimationError) as info:
        require(200 << 20, "K0 (n = 5,000)", "use --spectrum lanczos")
    assert str(info.value) == (
        "K0 (n = 5,000) needs about 200.0 MiB but only 80.0 MiB is usable here; "
        "use --spectrum lanczos"
    )


@pytest.mark.parametrize(
    ("nbytes", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
     (5 << 20, "5.0 MiB"), (3 << 30, "3.0 GiB"), (2 << 40, "2.0 TiB"), (1 << 52, "4096.0 TiB")],
)  # fmt: skip
def test_format_bytes(nbytes, text):
    assert format_bytes(nbytes) == text
