"""Jobs past the cap wait in the training queue: submit, place and estimate, cancel, and (slow,
real workers) a waiting job that starts by itself when the running one ends."""

from __future__ import annotations

import os
import shutil

import pytest

from core.jobs import job_slots, runs
from core.jobs.files import atomic_write_json, read_json
from core.jobs.job_queue import AlreadyQueuedError, default_job_queue
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import JobCapError, TrainingJob, prepare_run, promote_waiting
from tests.helpers_training import tiny_spec_dict, wait_for


def fake_running(root, *, eta: float | None, elapsed: float = 0.0):
    """A run folder as a live worker leaves it: status 'running', a live pid, a fresh pulse.

    The pid is this test process's own, so no worker (and no TensorFlow) is needed to hold
    a slot; `runs.worker_alive` judges it by its pid and pulse, as for another server's worker.
    """
    run_dir = prepare_run(tiny_spec_dict(), "mnist", runs_root_dir=root)
    atomic_write_json(
        run_dir / runs.STATUS_FILE,
        {"state": "running", "epochs": 2, "eta_seconds": eta, "elapsed_seconds": elapsed},
    )
    (run_dir / runs.PID_FILE).write_text(str(os.getpid()))
    (run_dir / runs.PULSE_FILE).touch()
    return run_dir


def end(run_dir) -> None:
    status = read_json(run_dir / runs.STATUS_FILE)
    atomic_write_json(run_dir / runs.STATUS_FILE, {**status, "state": "finished"})


def submit(root, owner: str, **options) -> TrainingJob:
    return TrainingJob.submit(
        tiny_spec_dict(), "mnist", TrainConfig(), runs_root_dir=root, owner=owner, **options
    )


def test_settings_default_and_from_the_environment(monkeypatch):
    monkeypatch.delenv(job_slots.MAX_JOBS_ENV, raising=False)
    assert job_slots.max_jobs() == job_slots.DEFAULT_MAX_JOBS == 2
    monkeypatch.setenv(job_slots.MAX_JOBS_ENV, "1")
    assert job_slots.max_jobs() == 1


def test_a_job_past_the_cap_waits_with_its_place_and_estimate(runs_root):
    running = fake_running(runs_root, eta=90.0, elapsed=30.0)
    assert job_slots.count_live_jobs(runs_root) == 1
    first = submit(runs_root, "browser-1", job_cap=1)
    second = submit(runs_root, "browser-2", job_cap=1)
    assert (first.status().state, first.status().message) == ("waiting", "Waiting for a free place")
    assert first.config["owner"] == "browser-1"
    assert job_slots.count_live_jobs(runs_root) == 1  # waiting runs hold no slot
    place = job_slots.queue_place(first.run_id, runs_root_dir=runs_root, job_cap=1)
    assert place == job_slots.QueuePlace(1, 2, 1, 1, 90.0)
    # The job ahead is guessed to take as long as the running one in all (30 + 90 s).
    place = job_slots.queue_place(second.run_id, runs_root_dir=runs_root, job_cap=1)
    assert (place.position, place.start_seconds) == (2, 210.0)
    assert job_slots.queue_place(running.name, runs_root_dir=runs_root) is None


def test_the_estimate_is_unknown_while_the_running_job_has_no_eta(runs_root):
    fake_running(runs_root, eta=None)
    job = submit(runs_root, "browser-1", job_cap=1)
    place = job_slots.queue_place(job.run_id, runs_root_dir=runs_root, job_cap=1)
    assert place.position == 1 and place.start_seconds is None


def test_one_waiting_job_per_browser_leaves_no_folder(runs_root):
    fake_running(runs_root, eta=60.0)
    submit(runs_root, "browser-1", job_cap=1)
    with pytest.raises(AlreadyQueuedError):
        submit(runs_root, "browser-1", job_cap=1)
    assert len(runs.list_runs(runs_root)) == 2


def test_cancel_removes_a_waiting_job_and_moves_the_next_up(runs_root):
    fake_running(runs_root, eta=60.0)
    first = submit(runs_root, "browser-1", job_cap=1)
    second = submit(runs_root, "browser-2", job_cap=1)
    assert not first.cancel("browser-2")  # someone else's
    assert first.run_dir.is_dir()
    assert first.cancel("browser-1")
    assert not first.run_dir.exists()
    assert not first.cancel("browser-1")
    assert job_slots.queue_place(second.run_id, runs_root_dir=runs_root, job_cap=1).position == 1


def test_start_refuses_instead_of_waiting(runs_root):
    fake_running(runs_root, eta=60.0)
    with pytest.raises(JobCapError, match="1 training job is already running .* limit is 1"):
        TrainingJob.start(tiny_spec_dict(), "mnist", runs_root_dir=runs_root, job_cap=1)
    assert len(runs.list_runs(runs_root)) == 1  # the refused job left no folder
    assert default_job_queue(runs_root).list() == []


def test_nothing_is_promoted_while_the_slots_are_full(runs_root):
    running = fake_running(runs_root, eta=60.0)
    waiting = submit(runs_root, "browser-1", job_cap=1)
    assert promote_waiting(runs_root, job_cap=1) == []
    assert waiting.status().is_waiting
    # A waiting folder deleted by hand is skipped, not started, when its turn comes.
    shutil.rmtree(waiting.run_dir)
    end(running)
    assert promote_waiting(runs_root, job_cap=1) == []
    assert default_job_queue(runs_root).list() == []


@pytest.mark.slow
def test_a_waiting_job_starts_by_itself_when_the_running_one_ends(
    tiny_dataset, runs_root, monkeypatch
):
    """Real workers, one slot: the second job waits, and the server whose worker ended
    starts it (nobody polls the second job or calls promote)."""
    monkeypatch.setenv(job_slots.MAX_JOBS_ENV, "1")
    config = TrainConfig(epochs=1, batch_size=64, snapshot_every_batches=2)
    first = TrainingJob.submit(
        tiny_spec_dict(), tiny_dataset, config, runs_root_dir=runs_root, owner="browser-1"
    )
    second = TrainingJob.submit(
        tiny_spec_dict(), tiny_dataset, config, runs_root_dir=runs_root, owner="browser-2"
    )
    try:
        assert first.status().state in ("queued", "running")
        assert second.status().is_waiting
        place = job_slots.queue_place(second.run_id, runs_root_dir=runs_root)
        assert (place.position, place.running, place.cap) == (1, 1, 1)
        assert first.wait(timeout=180).state == "finished"
        # Started by the exit watcher of the first worker (its status leaves 'waiting' and
        # its worker's pid is written).
        wait_for(lambda: second.pid is not None, timeout=60, what="the second job to start")
        assert second.status().holds_slot or second.status().state == "finished"
        # The entry's removal commits when the promoter's transaction ends, just after the
        # pid is written inside it.
        wait_for(
            lambda: default_job_queue(runs_root).list() == [],
            timeout=30,
            what="the second job to leave the queue",
        )
        assert second.wait(timeout=180).state == "finished", second.status().error
        assert second.evaluation()["num_test"] == 64
    finally:
        for job in (first, second):
            if job.status().holds_slot:
                job.kill()


def test_a_waiting_run_that_lost_its_place_is_marked_failed(runs_root):
    fake_running(runs_root, eta=60.0)
    kept = submit(runs_root, "browser-1", job_cap=1)
    lost = submit(runs_root, "browser-2", job_cap=1)
    assert not job_slots.settle_lost_place(kept.run_dir)  # still in the queue
    default_job_queue(runs_root).cancel(lost.run_id)  # as if the queue's file lost it
    assert job_slots.settle_lost_place(lost.run_dir)
    status = lost.status()
    assert status.state == "failed" and status.error.startswith(job_slots.LOST_PLACE)
    assert not job_slots.settle_lost_place(lost.run_dir)  # once
    assert kept.status().is_waiting
