"""Benchmark: parse and preview a 5,000-row Zoom participants report.

    .venv/bin/python bench/zoom_parse.py [rows]

Prints the best of five runs; the goal in the Immersion issue is under one second.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.immersion.zoom import parse_report, propose  # noqa: E402


@dataclass
class Attendee:
    name: str
    email: str


def make_report(rows: int, people: int = 180) -> tuple[bytes, list[Attendee]]:
    rng = random.Random(42)
    attendees = [
        Attendee(f"Person {i}", f"person{i}@hospice{i % 30}.org.uk") for i in range(people)
    ]
    lines = [
        "Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants",
        "812 3456 7890,Immersion,03/14/2026 09:00:00 AM,03/14/2026 10:30:00 AM,host@hub.org,90,1",
        "",
        "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest",
    ]
    for _ in range(rows):
        a = rng.choice(attendees)
        start = rng.randint(0, 59)
        length = rng.randint(1, 30)
        lines.append(
            f"{a.name},{a.email},03/14/2026 09:{start:02d}:00 AM,"
            f"03/14/2026 {9 + (start + length) // 60:02d}:{(start + length) % 60:02d}:00 AM,"
            f"{length},Yes"
        )
    return ("\n".join(lines) + "\n").encode(), attendees


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    data, attendees = make_report(rows)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        proposal = propose(parse_report(data), attendees)
        timings.append(time.perf_counter() - started)
    print(
        f"{rows} rows, {len(proposal.matched)} people matched: "
        f"best {min(timings) * 1000:.1f} ms, worst {max(timings) * 1000:.1f} ms (goal < 1000 ms)"
    )


if __name__ == "__main__":
    main()
