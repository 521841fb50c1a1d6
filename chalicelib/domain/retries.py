"""When a failed webhook delivery is tried again, and when it is given up (no I/O).

Exponential backoff with jitter: after the n-th failed attempt the next one waits
`min(max_delay, first_delay * factor ** (n - 1))`, times a random factor in
[1 - jitter, 1 + jitter]. Retries go on until an attempt fails at least `window` seconds after
the first one: the last attempt is always made at least `window` after the first.

A deployed stage (docs/integrations.md): 5 s, 15 s, 45 s, 2.25 min, 6.75 min, 20 min, 1 h, 3 h,
then every 4 h, for at least 24 h (about 14 attempts). The local stage runs the same shape
compressed (1 s, 3 s, 9 s, 27 s, then every 45 s, for 150 s).
"""

from __future__ import annotations

from dataclasses import dataclass

SQS_MAX_DELAY = 900  # s: SQS's DelaySeconds limit; longer waits are re-enqueued in steps


@dataclass(frozen=True)
class RetrySchedule:
    first_delay: float
    factor: float
    max_delay: float
    window: float
    jitter: float = 0.2

    def delay(self, failed_attempts: int, rand: float) -> float:
        """Seconds to wait after `failed_attempts` (>= 1) failures; rand is uniform in [0, 1)."""
        exponent = max(0, failed_attempts - 1)
        base = self.first_delay * self.factor ** min(exponent, 64)
        base = min(self.max_delay, base)
        return max(0.0, base * (1.0 + self.jitter * (2.0 * rand - 1.0)))

    def gives_up(self, first_at: float, now: float) -> bool:
        """True when an attempt that failed at `now` was the last one."""
        return now - first_at >= self.window


def sqs_delay(due_at: float, now: float) -> int:
    """The DelaySeconds of a message due at `due_at`: whole seconds, at most SQS's 15 minutes
    (a message received before it is due is enqueued again for the rest)."""
    remaining = due_at - now
    if remaining <= 0:
        return 0
    return min(SQS_MAX_DELAY, int(remaining) + (0 if remaining == int(remaining) else 1))
