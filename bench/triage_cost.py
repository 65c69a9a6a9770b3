"""What triage costs a contact: language, emotion and intent, by the length of the text.

    python bench/triage_cost.py [--corpus ../shared/data/sentiment] [--code DIR] [--reps 5]

Triage runs on the router's event loop, once for every contact, so its time is time every
other contact and desktop waits. Timed here with the shipped config.yaml (its intents'
keywords; languages it, en, de, fr), the gateway sending ``language`` and not (detected):

- the intake bench's 36-character question and its ``--long-text`` 175-character complaint
  (bench/intake.py);
- that complaint repeated to 1,000, 5,000 and 20,000 characters (the channel adapters
  take up to 20,000): how triage grows with a long email;
- with ``--corpus``, every message of the public corpora (21,150 tweets in Italian and
  English, skills/corpus.py): the mean over text like the model's training data.

Each figure is the best of ``--reps`` timings of a loop (µs a call), so the machine's
noise shows as little as it can. ``--code DIR`` imports ``skills`` and ``router`` from
another checkout (say, the code before a change) to compare the two in the same minutes.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
LENGTHS = (1_000, 5_000, 20_000)


def best_us(call: Callable[[], object], reps: int, budget: float = 0.2) -> float:
    """The best of ``reps`` timings, each a loop of about ``budget`` seconds, in µs a call."""
    number = max(1, int(budget / max(timeit.timeit(call, number=1), 1e-7)))
    return min(timeit.repeat(call, number=number, repeat=reps)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--code", type=Path, default=HERE.parent)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(args.code.resolve()))
    sys.path.insert(1, str(HERE))
    from intake import LONG_TEXT, SHORT_TEXT, load_average, repeated

    from router.rules.loader import load_rules
    from skills.triage import Triager

    triager = Triager(load_rules(args.code / "config.yaml").config)
    print(f"triage with {Triager.__module__} from {args.code.resolve()}; load {load_average()}")
    texts = [("the intake bench's question", SHORT_TEXT), ("the complaint", LONG_TEXT)]
    texts += [(f"the complaint to {n:,} characters", repeated(LONG_TEXT, n)) for n in LENGTHS]
    print(f"  {'text':<40} {'chars':>7} {'language sent':>14} {'detected':>10}")
    for label, text in texts:
        sent = best_us(lambda t=text: triager.triage(text=t, language="it"), args.reps)
        found = best_us(lambda t=text: triager.triage(text=t), args.reps)
        print(f"  {label:<40} {len(text):>7,} {sent:>11,.0f} µs {found:>7,.0f} µs")
    if args.corpus is not None:
        from skills.corpus import read_corpus

        messages = [
            (e.text, e.language) for code in ("it", "en") for e in read_corpus(args.corpus, code)
        ]

        def corpus(language: bool) -> Callable[[], None]:
            def run() -> None:
                for text, code in messages:
                    triager.triage(text=text, language=code if language else None)

            return run

        count = len(messages)
        sent = best_us(corpus(True), args.reps, budget=0) / count
        found = best_us(corpus(False), args.reps, budget=0) / count
        mean = sum(len(text) for text, _ in messages) / count
        label = f"the corpora's {count:,} messages (mean)"
        print(f"  {label:<40} {mean:>7,.0f} {sent:>11,.0f} µs {found:>7,.0f} µs")
    print(f"load {load_average()}")


if __name__ == "__main__":
    main()
