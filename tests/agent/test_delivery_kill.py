"""SIGKILL fault injection: the agent killed while writing the spool and while uploading.

Workers are forked from a preloaded forkserver (fast, single-threaded parent) and
killed with SIGKILL at random moments; a shared flag tells which phase each kill
interrupted, so the test proves it hit both. Each worker appends `seq marker` to
a journal right after a spool commit returns. Afterwards, with no more kills,
everything is drained and the collector must hold:
  * every journaled (seq, marker) with that very content: nothing lost, no reuse;
  * a gap-free run of sequence numbers, each once: no duplicate, nothing committed
    but unjournaled got lost either.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

from agent.keys import create_key, load_key
from agent.spool import Spool
from agent.upload import Backoff, Uploader
from tests.collector.live import LiveCollector, uai
from tests.collector.samples import sample_content

SCHOOL = uai(750001)
KILLS = 60  # issue 5 asks for at least 50
IDLE, WRITING, UPLOADING = 0, 1, 2


def worker(state_dir: str, url: str, journal: str, mode: str, phase: Any, ready: Any) -> None:
    """Runs until killed: enqueue forever (and, in upload mode, drain after each)."""
    key = load_key(Path(state_dir))
    spool = Spool(Path(state_dir) / "spool.db")
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    base = sample_content(5)

    async def main() -> None:
        async with Uploader(spool, key, url, backoff=Backoff(0.01, 0.05)) as uploader:
            ready.set()
            while True:
                marker = uuid.uuid4().hex
                health = base.health.model_copy(update={"last_errors": [f"marker {marker}"]})
                phase.value = WRITING
                seq = spool.enqueue_snapshot(
                    base.model_copy(update={"health": health}), agent_id=key.agent_id, uai=SCHOOL
                )
                phase.value = IDLE
                os.write(fd, f"{seq} {marker}\n".encode())
                if mode == "upload":
                    phase.value = UPLOADING
                    await uploader.drain()
                    phase.value = IDLE

    asyncio.run(main())


def _marker(body: str) -> str:
    return str(json.loads(body)["health"]["last_errors"][0]).removeprefix("marker ")


def test_sigkill_during_spool_writes_and_uploads_loses_nothing(tmp_path: Path) -> None:
    live = LiveCollector(tmp_path / "collector").start()
    state = tmp_path / "state"
    key = create_key(state)
    live.enrol(key, SCHOOL)
    journal = tmp_path / "journal"
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.agent.test_delivery_kill"])
    phase = ctx.Value("i", IDLE, lock=False)
    rng = random.Random(5)
    hits = {IDLE: 0, WRITING: 0, UPLOADING: 0}
    started = time.monotonic()
    try:
        for round_ in range(KILLS):
            ready = ctx.Event()
            mode = "upload" if round_ % 2 else "write"
            process = ctx.Process(
                target=worker, args=(str(state), live.url, str(journal), mode, phase, ready)
            )
            process.start()
            assert ready.wait(20), "worker did not start"
            # Writes are quick: short lives keep the final backlog (and the test) small.
            time.sleep(rng.uniform(0.002, 0.03) if mode == "write" else rng.uniform(0.005, 0.12))
            hits[phase.value] += 1
            process.kill()  # SIGKILL: no cleanup, no atexit, no flush
            process.join(10)
            assert process.exitcode == -9
        elapsed = time.monotonic() - started
        with Spool(state / "spool.db") as spool:

            async def finish() -> None:
                async with Uploader(spool, key, live.url) as uploader:
                    report = await uploader.drain()
                    assert report.failure is None, report.failure

            asyncio.run(finish())
            assert spool.stats().depth == 0 and spool.stats().dead_letters == 0
        stored = live.stored(key.agent_id)
    finally:
        live.stop()

    print(
        f"{KILLS} kills in {elapsed:.1f} s: {hits[WRITING]} while writing the spool, "
        f"{hits[UPLOADING]} while uploading, {hits[IDLE]} in between; {len(stored)} stored"
    )
    assert hits[WRITING] >= 5 and hits[UPLOADING] >= 5
    journaled: dict[int, str] = {}
    for line in journal.read_text().splitlines():
        seq_text, marker = line.split()
        assert int(seq_text) not in journaled, f"seq {seq_text} was handed out twice"
        journaled[int(seq_text)] = marker
    by_seq = {seq: _marker(body) for _, seq, body in stored}
    assert len(by_seq) == len(stored), "a sequence number was stored twice"
    for seq, marker in journaled.items():
        assert by_seq.get(seq) == marker, f"snapshot {seq} lost or replaced"
    seqs = sorted(by_seq)
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), "committed snapshots went missing"
