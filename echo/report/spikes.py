"""Spike detection on daily post volume: a robust rolling baseline (median) plus k robust deviations (MAD).

Method, for a series of daily counts x[0..n-1] (days without posts count as 0):

1. Baseline: for each day t, the median of x over a centred window of `window` days
   (t - h .. t + h with h = window // 2; the window is clipped at the ends of the series, so the first
   and last days use the days that exist).
2. Spread: the median absolute deviation of the same window from that median, scaled by 1.4826 so it
   estimates the standard deviation of normally distributed counts.
3. Threshold: baseline + k * spread.
4. Day t is a spike when x[t] > threshold and x[t] >= min_count. The minimum count keeps a quiet
   series (baseline 0, spread 0) from calling every day with two posts a spike.

Medians are used instead of means so that a spike does not raise its own baseline: with a 7-day window
a single burst is at most one of seven values and leaves the median where it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAD_SCALE = 1.4826  # MAD -> standard deviation for normal data


@dataclass(frozen=True)
class SpikeSeries:
    """Per-day baseline, spread, threshold and spike flag, aligned with the input counts."""

    counts: np.ndarray
    baseline: np.ndarray
    spread: np.ndarray
    threshold: np.ndarray
    is_spike: np.ndarray

    @property
    def spike_indices(self) -> list[int]:
        return [int(i) for i in np.flatnonzero(self.is_spike)]


def detect_spikes(counts: Sequence[float], *, window: int = 7, k: float = 3.5, min_count: int = 5) -> SpikeSeries:
    """Rolling median + k * scaled MAD over a centred window (see the module docstring)."""
    if window < 1:
        raise ValueError(f"spike window must be at least 1 day, got {window}")
    if k < 0:
        raise ValueError(f"spike k must be >= 0, got {k}")
    x = np.asarray(counts, dtype=float)
    if x.ndim != 1:
        raise ValueError("counts must be a 1-D sequence of daily counts")
    if np.any(x < 0) or not np.all(np.isfinite(x)):
        raise ValueError("daily counts must be finite and non-negative")
    n = len(x)
    half = window // 2
    baseline = np.zeros(n)
    spread = np.zeros(n)
    for t in range(n):
        win = x[max(0, t - half): t + half + 1]
        med = float(np.median(win))
        baseline[t] = med
        spread[t] = MAD_SCALE * float(np.median(np.abs(win - med)))
    threshold = baseline + k * spread
    is_spike = (x > threshold) & (x >= min_count)
    return SpikeSeries(counts=x, baseline=baseline, spread=spread, threshold=threshold, is_spike=is_spike)


def daily_counts(dates: Sequence[dt.date], counts: Sequence[int]) -> tuple[list[dt.date], list[int]]:
    """Fill the days between the first and last date with zeros, so the rolling window counts calendar days."""
    if len(dates) != len(counts):
        raise ValueError("dates and counts differ in length")
    if not dates:
        return [], []
    by_day: dict[dt.date, int] = {}
    for d, c in zip(dates, counts):
        by_day[d] = by_day.get(d, 0) + int(c)
    first, last = min(by_day), max(by_day)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return days, [by_day.get(d, 0) for d in days]
