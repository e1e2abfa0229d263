"""A province node doing intake and anchoring in small steps, for the fault-injection test to
kill with SIGKILL at random moments: ``python -m tests.province.fault_driver DIR FILE [WORKERS]``.

It re-reads the whole submission every time it starts (rows accepted before a kill are refused
as duplicates), accepts rows 5 at a time and anchors after each chunk, then anchors what is
left and prints ``done``. It prints ``ready`` once the node is open, so the test kills it while it
works, not while Python imports. With ``WORKERS`` > 0 the rows are read raw and go through that
many worker processes (``certreg node ingest --workers``), anchoring after every 10 outcomes;
``ready`` then waits for the pool's first answer.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from node.core.formats.submissions import parse_submission, read_submission
from province.config import load_config
from province.node import ProvinceNode
from tests.province.helpers import ON_TIME


def main(directory: str, submission: str, workers: int = 0) -> int:
    node = ProvinceNode.open(load_config(Path(directory)))
    announced = False

    def ready() -> None:
        nonlocal announced
        if not announced:
            print("ready", flush=True)
            announced = True

    try:
        with open(submission, "rb") as stream:
            if workers:
                outcomes = node.intake.iter_per_row(
                    read_submission(stream, "jsonl"), received_on=ON_TIME, actor="fault-test",
                    chunk_size=5, workers=workers,
                )  # fmt: skip
                for seen, _ in enumerate(outcomes, 1):
                    ready()  # the pool answered: intake is under way
                    if seen % 10 == 0:
                        node.anchor_once()
            else:
                ready()
                rows = parse_submission(stream, "jsonl")
                while chunk := list(itertools.islice(rows, 5)):
                    for _ in node.intake.iter_per_row(
                        chunk, received_on=ON_TIME, actor="fault-test", chunk_size=5
                    ):
                        pass
                    node.anchor_once()
        node.anchor_all()
    finally:
        node.close()
    ready()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0))
