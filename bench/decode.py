"""Decoding speed per firmware family, against json.loads of the same payloads.

Goal (decoders issue): decoding costs at most about 3x parsing, i.e. ratio >= 0.3 for every
family, where ratio = decoded messages per second / json.loads per second. The payloads are
the decoder test cases that decode to readings (tests/testdata/decoders).

    .venv/bin/python bench/decode.py [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from ventwatch.config import GenericDecoderSpec
from ventwatch.ingest.decoders import REGISTRY, DecodeContext, Decoder, decoder_for, generic

CASES = Path(__file__).resolve().parent.parent / "tests" / "testdata" / "decoders"


def rate(func: Callable[[], object], batch: int, seconds: float) -> float:
    """Calls per second of `func`, each call handling `batch` messages, best of 3 rounds."""
    best = 0.0
    for _ in range(3):
        done, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            func()
            done += batch
        best = max(best, done / elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0, help="time per family and side")
    args = parser.parse_args()
    ctx = DecodeContext(timezone=ZoneInfo("Europe/London"))
    samples: dict[str, list[tuple[Decoder, str, bytes, DecodeContext]]] = defaultdict(list)
    for case in sorted(CASES.glob("*/*.json")):
        spec = json.loads(case.read_text())
        if not spec.get("expect"):
            continue
        decoders = REGISTRY
        if "generic" in spec:
            decoders = (generic.make_decoder(GenericDecoderSpec(**spec["generic"])), *REGISTRY)
        decoder = decoder_for(spec["topic"], decoders)
        assert decoder is not None
        case_ctx = DecodeContext(timezone=ctx.timezone, metadata=spec.get("metadata", {}))
        samples[case.parent.name].append(
            (decoder, spec["topic"], spec["payload"].encode(), case_ctx)
        )

    ratios: dict[str, float] = {}
    rates: dict[str, float] = {}
    for family, items in sorted(samples.items()):
        payloads = [p for _, _, p, _ in items]

        def decode_all(items: list[tuple[Decoder, str, bytes, DecodeContext]] = items) -> None:
            for decoder, topic, payload, case_ctx in items:
                decoder.decode(topic, payload, case_ctx)

        def parse_all(payloads: list[bytes] = payloads) -> None:
            for payload in payloads:
                json.loads(payload)

        decoded = rate(decode_all, len(items), args.seconds)
        parsed = rate(parse_all, len(items), args.seconds)
        rates[family], ratios[family] = decoded, decoded / parsed
        print(
            f"{family:15s} decode {decoded:>10,.0f} msg/s   json.loads {parsed:>10,.0f} msg/s"
            f"   ratio {decoded / parsed:.2f}"
        )
    worst = min(ratios, key=ratios.__getitem__)
    print(
        f"RESULT decode ratio={ratios[worst]:.2f} goal=0.3 worst_family={worst} "
        f"min_msgs_per_s={min(rates.values()):.0f} "
        + " ".join(f"{f}_ratio={r:.2f}" for f, r in sorted(ratios.items()))
    )


if __name__ == "__main__":
    main()
