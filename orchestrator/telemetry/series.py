"""Metric series as plain numbers, updated on the hot path, and the collector that turns
them into Prometheus families only at scrape time (the exposition is prometheus_client's)."""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import accumulate

from prometheus_client import metrics as prometheus_metrics
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString


def _created_series_enabled() -> bool:
    """Whether counters and histograms expose ``_created`` samples, as prometheus_client's
    own metrics decide it at each scrape (``PROMETHEUS_DISABLE_CREATED_SERIES``,
    ``disable_created_metrics()``)."""
    return bool(getattr(prometheus_metrics, "_use_created", True))


class CounterSeries:
    """One counter series (one label set): a plain number, and when it was bound."""

    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value: float = 0
        self.created = time.time()


class HistogramSeries:
    """One histogram series: a count per bucket (not cumulative; the last bucket is +Inf),
    the sum of the observations, and when it was bound."""

    __slots__ = ("bounds", "counts", "created", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.sum = 0.0
        self.created = time.time()

    def observe(self, amount: float) -> None:
        # The first bucket whose upper bound is >= amount, as prometheus_client picks it.
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.sum += amount


class GaugeSeries:
    """An unlabelled gauge: one plain number."""

    __slots__ = ("documentation", "name", "value")

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self.value: float = 0

    def inc(self, amount: float = 1) -> None:
        self.value += amount

    def dec(self, amount: float = 1) -> None:
        self.value -= amount

    def describe(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(self.name, self.documentation)

    def collect(self, created: bool) -> GaugeMetricFamily:
        return GaugeMetricFamily(self.name, self.documentation, value=self.value)


# --- families: a name, its help and labels, and the series bound so far ---------------------


class CounterFamily:
    """A labelled counter. Series are exposed in the order they were first bound."""

    __slots__ = ("documentation", "labelnames", "name", "series")

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.series: dict[tuple[str, ...], CounterSeries] = {}

    def labels(self, *values: str) -> CounterSeries:
        series = self.series.get(values)
        if series is None:
            series = self.series[values] = CounterSeries()
        return series

    def describe(self) -> CounterMetricFamily:
        return CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self, created: bool) -> CounterMetricFamily:
        family = self.describe()
        for values, series in self.series.items():
            family.add_metric(values, series.value, series.created if created else None)
        return family


class HistogramFamily:
    """A histogram (labelled or not) with fixed bucket bounds; +Inf is added as the last."""

    __slots__ = ("bounds", "documentation", "labelnames", "les", "name", "series")

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = (*(float(b) for b in buckets), math.inf)
        # The ``le`` label values exactly as prometheus_client writes them (1.0, +Inf).
        self.les = tuple(floatToGoString(b) for b in self.bounds)  # type: ignore[no-untyped-call]
        self.series: dict[tuple[str, ...], HistogramSeries] = {}

    def labels(self, *values: str) -> HistogramSeries:
        series = self.series.get(values)
        if series is None:
            series = self.series[values] = HistogramSeries(self.bounds)
        return series

    def describe(self) -> HistogramMetricFamily:
        return HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)

    def collect(self, created: bool) -> HistogramMetricFamily:
        family = self.describe()
        created_name = f"{self.name}_created"
        for values, series in self.series.items():
            buckets = list(zip(self.les, accumulate(series.counts), strict=True))
            family.add_metric(values, buckets, series.sum)
            if created:
                labels = dict(zip(self.labelnames, values, strict=True))
                family.samples.append(Sample(created_name, labels, series.created))
        return family


Family = CounterFamily | HistogramFamily | GaugeSeries


class SeriesCollector(Collector):
    """Builds the metric families from the plain series at scrape time, in a fixed order."""

    def __init__(self, families: Sequence[Family]) -> None:
        self._families = tuple(families)

    def describe(self) -> Iterator[Metric]:
        """The names, so the registry refuses a second collector with the same ones."""
        for family in self._families:
            yield family.describe()

    def collect(self) -> Iterator[Metric]:
        created = _created_series_enabled()
        for family in self._families:
            yield family.collect(created)
