"""How hard the OpenAPI fuzz tests push: the fixed, repeatable run of ``make test``, or a campaign (``make fuzz``).

``make test`` runs one fixed seed, 15 examples per operation, derandomized, without the stateful phase: the same
requests on every CI run. ``make fuzz`` (``KETALINK_FUZZ=1``) draws a fresh seed each run (printed at the start and
the end; ``KETALINK_FUZZ_SEED=N`` repeats one), generates ``KETALINK_FUZZ_EXAMPLES`` (default 100) per operation and
runs the stateful phase too: sequences that follow the documents' links (create an intake, then record its parts
and decide; a patient's sessions, then their readings and notes) for ``KETALINK_FUZZ_SCENARIOS`` (default 50)
scenarios of up to ``KETALINK_FUZZ_STEPS`` (default 8) calls per service."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

FIXED_SEED = 82026


@dataclass(frozen=True)
class Campaign:
    seed: int
    examples: int
    deterministic: bool
    stateful: bool
    scenarios: int = 0
    steps: int = 0

    def describe(self) -> str:
        if self.deterministic:
            return f"fuzz: fixed seed {self.seed}, {self.examples} examples per operation (make fuzz for more)"
        return (f"fuzz: seed {self.seed} (repeat with KETALINK_FUZZ_SEED={self.seed}), {self.examples} examples per "
                f"operation, stateful: {self.scenarios} scenarios of up to {self.steps} steps per service")


def _campaign() -> Campaign:
    if os.environ.get("KETALINK_FUZZ") != "1":
        return Campaign(FIXED_SEED, 15, True, False)
    seed = int(os.environ.get("KETALINK_FUZZ_SEED") or secrets.randbelow(2**31))
    return Campaign(seed, int(os.environ.get("KETALINK_FUZZ_EXAMPLES") or 100), False, True,
                    int(os.environ.get("KETALINK_FUZZ_SCENARIOS") or 50), int(os.environ.get("KETALINK_FUZZ_STEPS") or 8))


#: This process' campaign: the seed is drawn once, so every test and the printed line agree.
CAMPAIGN = _campaign()
