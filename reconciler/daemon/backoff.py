"""Exponential back-off with jitter and a cap, for passes that failed on AWS errors."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    minimum: float = 1.0
    maximum: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, failures: int) -> float:
        """Delay before attempt number `failures + 1`.

        The step doubles per failure; up to half a step of random extra spreads out
        daemons that all hit the same throttled API at once, and the cap bounds the
        wait so that a fixed permission is noticed within `maximum` seconds.
        """
        if failures <= 0:
            return 0.0
        step = self.minimum * 2 ** min(failures - 1, 62)
        return float(min(self.maximum, step * self.rng.uniform(1.0, 1.5)))
