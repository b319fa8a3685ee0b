"""core.jobs.ray_runner: training and inspection workers run as Ray actors when configured.

The fast tests check the settings, the host actor's body (a plain class, run here without
Ray) and that a server without ``$CONVSCOPE_RAY_ADDRESS`` never imports Ray. The slow tests
start ONE real local Ray instance for the module (two CPUs, no dashboard) and train, pause,
resume, stop and inspect through it, with the runs and models folders shared the way a
cluster shares them (here: the same disk); jobs a replica (another process) started outlive it
and are followed, stopped and killed from this process, as a restarted replica would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from core.base.paths import PROJECT_ROOT
from core.jobs import runner, runs
from core.jobs.files import read_json
from core.jobs.ray_runner import (
    DEFAULT_RAY_CPUS,
    RAY_CPUS_ENV,
    RAY_NAMESPACE,
    RayRunner,
    RayUnavailableError,
    RayWorker,
    WorkerHost,
    actor_environment,
    connect_address,
    cpus_per_job,
    training_actor_name,
)
from core.jobs.runner import RAY_ADDRESS_ENV, WORKER_CORES_ENV, WORKER_HOST_FILE, LocalRunner
from core.jobs.training_job import TrainingJob
from core.jobs.worker_client import WorkerClient
from tests.helpers_training import start_endless, wait_for, wait_until_training

# ---------------------------------------------------------------------------
# Settings and the host's body (fast, no Ray)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", ["auto", "local", "ray://head:10001", "ray://10.0.0.5", "head.cluster:6379"]
)
def test_the_ray_addresses_a_cluster_is_reached_by_are_accepted(address):
    assert connect_address(f" {address} ") == address


@pytest.mark.parametrize("address", ["", "my cluster", "http://head:8265", "ray://", "head"])
def test_another_address_is_refused_saying_what_is_expected(address):
    with pytest.raises(ValueError, match="must be auto, local, ray://host:10001 or host:6379"):
        RayRunner(address)


def test_the_cores_per_job_come_from_the_environment(monkeypatch):
    monkeypatch.delenv(RAY_CPUS_ENV, raising=False)
    assert cpus_per_job() == DEFAULT_RAY_CPUS == RayRunner("auto").cpus
    monkeypatch.setenv(RAY_CPUS_ENV, "4")
    assert RayRunner("auto").cpus == 4
    assert RayRunner("auto", cpus=3).cpus == 3
    for bad in ("two", "0", "1.5"):
        monkeypatch.setenv(RAY_CPUS_ENV, bad)
        with pytest.raises(ValueError, match=RAY_CPUS_ENV):
            cpus_per_job()


def test_an_actor_gets_the_settings_its_cores_and_no_gpu_unless_given_one(monkeypatch):
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", "/shared/data")
    monkeypatch.setenv(RAY_ADDRESS_ENV, "auto")
    monkeypatch.setenv("UNRELATED_SECRET", "x")
    environment = actor_environment(3, gpu=False)
    assert environment["CONVSCOPE_DATA_DIR"] == "/shared/data"
    assert environment[WORKER_CORES_ENV] == "3"
    assert environment["PYTHONPATH"] == os.fspath(PROJECT_ROOT)
    assert environment["CUDA_VISIBLE_DEVICES"] == ""
    assert RAY_ADDRESS_ENV not in environment and "UNRELATED_SECRET" not in environment
    assert "CUDA_VISIBLE_DEVICES" not in actor_environment(3, gpu=True)


def test_granted_cores_set_the_worker_threads(monkeypatch):
    from core.worker import environment

    monkeypatch.setenv(WORKER_CORES_ENV, "3")
    assert environment.usable_cores() == 3
    assert environment.worker_threads().intra_op == 3
    monkeypatch.setenv(WORKER_CORES_ENV, "lots")
    assert environment.usable_cores() == len(os.sched_getaffinity(0))


def test_the_host_runs_the_real_worker_entry_and_reports_how_it_ended(tmp_path):
    host = WorkerHost()
    started = host.start("sleep", ["0"], os.fspath(tmp_path / "worker.log"))
    assert started["log_path"] == os.fspath(tmp_path / "worker.log")
    assert host.describe() == started  # what another replica that finds the actor learns
    assert host.wait() == 2  # the worker's usage error: the real `python -m core.worker`
    assert "usage: python -m core.worker" in host.log_tail()


def test_the_host_relays_a_connected_workers_messages(tmp_path):
    # Run as `<script> -m core.worker echo`: it sends back every byte it reads, so each
    # framed message comes back whole.
    script = tmp_path / "python"
    script.write_text("#!/bin/sh\nexec cat\n")
    script.chmod(0o755)
    host = WorkerHost()
    host.runner = LocalRunner(python=os.fspath(script))
    host.start("echo", [], connect=True)
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    host.send(("feature_maps", {"image": image}))
    kind, (method, arguments) = host.receive()
    assert (kind, method) == ("message", "feature_maps")
    np.testing.assert_array_equal(arguments["image"], image)
    host.kill()
    assert host.receive() == ("closed",)
    assert host.wait() is not None


def test_a_node_that_cannot_see_the_run_folder_refuses_the_job(tmp_path):
    host = WorkerHost()
    with pytest.raises(FileNotFoundError, match="cannot see the folder .* must be shared"):
        host.start("train", [os.fspath(tmp_path / "gone")], folder=os.fspath(tmp_path / "gone"))
    assert host.wait() is None  # nothing started, and nothing left waiting


def test_a_training_actor_is_named_after_its_run_and_a_local_runner_finds_only_its_own(
    tmp_path,
):
    assert training_actor_name(tmp_path / "runs" / "run-1") == "train-run-1"
    local = LocalRunner()
    worker = local.start("sleep", "0")
    assert local.find_run(tmp_path, worker.pid) in (worker, None)  # None once it has ended
    worker.wait(60)
    assert local.find_run(tmp_path, worker.pid) is None


def test_a_worker_on_another_machine_is_judged_by_its_pulse_not_its_pid(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    ended = subprocess.Popen(["true"])
    ended.wait()  # a pid that is not running here, as a Ray node's worker's is not
    (run_dir / runs.PID_FILE).write_text(str(ended.pid))
    (run_dir / runs.PULSE_FILE).touch()
    assert runner.runs_here(run_dir) and not runs.worker_alive(run_dir)
    (run_dir / WORKER_HOST_FILE).write_text("gpu-node-7")
    assert not runner.runs_here(run_dir) and runs.worker_alive(run_dir)
    stale = time.time() - 2 * runs.PULSE_STALE_SECONDS
    for name in (runs.PULSE_FILE, runs.PID_FILE):
        os.utime(run_dir / name, (stale, stale))
    assert not runs.worker_alive(run_dir)  # a node lost: its pulse stops
    (run_dir / runs.PULSE_FILE).touch()
    (run_dir / WORKER_HOST_FILE).write_text(socket.gethostname())
    assert runner.runs_here(run_dir) and not runs.worker_alive(run_dir)


def test_killing_a_job_on_another_machine_asks_it_to_stop_and_kills_nothing_here(tmp_path):
    from core.jobs.training_job import TrainingJob

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    bystander = subprocess.Popen(["sleep", "60"])  # holds the remote worker's pid number here
    try:
        (run_dir / runs.PID_FILE).write_text(str(bystander.pid))
        (run_dir / WORKER_HOST_FILE).write_text("gpu-node-7")
        TrainingJob(run_dir).kill()
        assert read_json(run_dir / runs.CONTROL_FILE)["command"] == "stop"
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_without_the_variable_workers_stay_local_and_ray_is_never_imported():
    code = (
        "import json, os, sys\n"
        "from core.jobs import runner, training_job, worker_client\n"
        "local = type(runner.default_runner()).__name__\n"
        "runner._DEFAULT = None\n"
        f"os.environ[{RAY_ADDRESS_ENV!r}] = 'local'\n"
        "cluster = type(runner.default_runner()).__name__\n"
        "print(json.dumps([local, cluster, 'ray' in sys.modules]))\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != RAY_ADDRESS_ENV}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # Selecting the Ray runner does not import Ray either: the first worker start does.
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["LocalRunner", "RayRunner", False]


# ---------------------------------------------------------------------------
# A real local Ray instance (slow)
# ---------------------------------------------------------------------------


# Logical CPUs (and GPUs) of the test's Ray: three one-core jobs at once, on any machine.
CLUSTER_CPUS = 3


@pytest.fixture(scope="module")
def ray_default():
    """The app's default runner on one local Ray instance with `CLUSTER_CPUS` CPUs and as many
    GPUs; each job asks for 1 CPU (and a GPU)."""
    import ray

    saved = {name: os.environ.get(name) for name in (RAY_ADDRESS_ENV, RAY_CPUS_ENV)}
    os.environ[RAY_ADDRESS_ENV] = "local"
    os.environ[RAY_CPUS_ENV] = "1"
    started = time.monotonic()
    # Logical GPUs: Ray only counts them, so a GPU job's declaration is tested here too (its
    # TensorFlow finds no CUDA driver and trains on the CPU).
    for attempt in range(3):  # Ray gives its node a fixed 30 s to come up: too short at times
        try:  # on this shared machine under heavy load, so it gets three tries
            ray.init(
                num_cpus=CLUSTER_CPUS,
                num_gpus=CLUSTER_CPUS,
                include_dashboard=False,
                log_to_driver=False,
            )
            break
        except Exception:
            ray.shutdown()
            if attempt == 2:
                raise
    print(f"Ray started in {time.monotonic() - started:.1f} s")
    saved_default, runner._DEFAULT = runner._DEFAULT, None
    default = runner.default_runner()
    try:
        yield default
    finally:
        for worker in default.workers():
            worker.kill()
        runner._DEFAULT = saved_default
        ray.shutdown()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def cluster_cpus_free(ray) -> float:
    return ray.available_resources().get("CPU", 0.0)


def process_environment(pid: int) -> list[str]:
    """The environment a (local) process started with, as ``NAME=value`` strings."""
    with open(f"/proc/{pid}/environ", "rb") as stream:
        return stream.read().decode(errors="replace").split("\0")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_job_trains_pauses_resumes_stops_and_is_inspected_on_ray(
    ray_default, tiny_dataset, tmp_path
):
    import keras
    import ray

    assert isinstance(ray_default, RayRunner)
    models = tmp_path / "models"  # shared by the nodes and every server replica
    began = time.monotonic()
    job = start_endless(tiny_dataset, tmp_path / "runs", save_as="ray-tiny", models_dir=models)
    worker = ray_default.find(job.pid)
    assert isinstance(worker, RayWorker) and worker.task == "train" and worker.is_alive()
    assert (job.run_dir / WORKER_HOST_FILE).read_text() == worker.node  # for every replica
    wait_until_training(job, min_step=5)
    trained = time.monotonic()
    # The core it declared is the core it trains on: one thread per op.
    threads = read_json(job.run_dir / runs.STATUS_FILE)["threads"]
    assert (threads["cores"], threads["intra_op"]) == (1, 1)
    assert cluster_cpus_free(ray) == CLUSTER_CPUS - 1  # the job holds one core
    assert ray.available_resources().get("GPU", 0.0) == CLUSTER_CPUS - 1  # and a GPU, seen:
    assert "CUDA_VISIBLE_DEVICES=0" in process_environment(job.pid)

    job.pause()
    paused = wait_for(lambda: (s := job.poll()).state == "paused" and s, timeout=60, what="pause")
    time.sleep(1.0)
    assert job.poll().step == paused.step
    job.resume()
    wait_for(lambda: job.poll().step > paused.step + 5, timeout=60, what="resume")
    # The filters stream back through the (shared) run folder every 10 batches.
    wait_for(lambda: len(job.snapshots()) >= 2, timeout=60, what="a second snapshot")
    job.stop()
    status = job.wait(timeout=120)
    assert status.state == "stopped" and status.reason == "user"
    assert worker.wait(60) == 0
    wait_for(lambda: ray_default.find(worker.pid) is None, timeout=30, what="forget")
    wait_for(lambda: cluster_cpus_free(ray) == CLUSTER_CPUS, timeout=60, what="the core back")
    assert ray.available_resources().get("GPU", 0.0) == CLUSTER_CPUS
    stopped = time.monotonic()

    # The worker on the node saved the model into the shared store.
    stored = models / "ray-tiny.keras"
    assert stored.is_file()
    model = keras.saving.load_model(stored, safe_mode=True)
    np.testing.assert_allclose(
        model.layers[0].get_weights()[0], job.load_snapshot(job.snapshots()[-1])
    )

    # Inspection runs in a Ray actor too: layer outputs against Keras in this process.
    client = WorkerClient()
    try:
        image = np.load(tiny_dataset)["x_test"][0].astype(np.float32)[..., np.newaxis] / 255.0
        maps = client.feature_maps(stored, image)
        assert isinstance(ray_default.find(client.worker_pid), RayWorker)
        # The inspection worker takes no GPU and sees none.
        assert "CUDA_VISIBLE_DEVICES=" in process_environment(client.worker_pid)
        first = model.layers[0]
        reference = keras.Model(model.inputs, first.output)([image[np.newaxis]]).numpy()[0]
        np.testing.assert_allclose(maps.maps[first.name], reference, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            maps.probabilities, model(image[np.newaxis]).numpy()[0], rtol=1e-5, atol=1e-6
        )
        weights = client.filters(stored)
        np.testing.assert_allclose(weights.kernels, first.get_weights()[0])
    finally:
        client.close()
    inspected = time.monotonic()
    print(
        f"Ray job: training after {trained - began:.1f} s, paused, resumed and stopped after "
        f"{stopped - trained:.1f} s more, inspected in {inspected - stopped:.1f} s"
    )


# A replica: starts training jobs through the app's runner on the cluster at
# $CONVSCOPE_RAY_ADDRESS, prints their run folders, then waits to be killed.
REPLICA = """
import sys, time
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import TrainingJob
from tests.helpers_training import ENDLESS, tiny_spec_dict
dataset, runs, models = sys.argv[1:4]
for index, epochs in enumerate(sys.argv[4:]):
    config = ENDLESS if epochs == "endless" else TrainConfig(epochs=int(epochs), batch_size=8)
    job = TrainingJob.start(
        tiny_spec_dict(), dataset, config, runs_root_dir=runs, save_as=f"job{index}",
        models_dir=models,
    )
    print(job.run_dir, flush=True)
time.sleep(3600)
"""


def start_on_a_replica(ray, dataset, runs_root, models, *epochs: str) -> list[TrainingJob]:
    """Start jobs from another process (a replica) on this Ray, then SIGKILL that process."""
    environment = {
        **os.environ,
        RAY_ADDRESS_ENV: ray.get_runtime_context().gcs_address,
        "CONVSCOPE_MAX_JOBS": str(len(epochs)),
    }
    log = runs_root.parent / "replica.log"
    with open(log, "wb") as errors:
        replica = subprocess.Popen(
            [sys.executable, "-c", REPLICA, dataset, runs_root, models, *epochs],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        folders = [replica.stdout.readline().strip() for _ in epochs]
        assert all(folders), log.read_text(errors="replace")[-3000:]
    finally:
        replica.send_signal(signal.SIGKILL)
        replica.wait()
        replica.stdout.close()
    return [TrainingJob.attach(folder) for folder in folders]


def convscope_actors(ray) -> list[str]:
    """The names of the ConvScope training actors still on the cluster."""
    named = ray.util.list_named_actors(all_namespaces=True)
    return [actor["name"] for actor in named if actor["namespace"] == RAY_NAMESPACE]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_jobs_outlive_the_replica_that_started_them_and_another_one_controls_them(
    ray_default, tiny_dataset, tmp_path
):
    import keras
    import ray

    runs_root, models = tmp_path / "runs", tmp_path / "models"
    runs_root.mkdir()
    began = time.monotonic()
    # The finite job starts last, so it is still loading when its starter dies.
    stopping, killing, finishing = start_on_a_replica(
        ray, tiny_dataset, runs_root, models, "endless", "endless", "2"
    )
    killed = time.monotonic()
    names = sorted(training_actor_name(job.run_dir) for job in (finishing, stopping, killing))
    assert sorted(convscope_actors(ray)) == names  # detached: their starter is gone, not they
    # This process is a replica that started none of them: it judges them by pid and pulse.
    for job in (finishing, stopping, killing):
        assert ray_default.find(job.pid) is None
        assert job.status().is_live and runs.worker_alive(job.run_dir)

    # The finite job trains to its end and saves its model where every replica finds it.
    status = finishing.wait(timeout=300)
    assert status.state == "finished", status.error
    assert status.step == status.total_steps > 0
    model = keras.saving.load_model(models / "job2.keras", safe_mode=True)
    data = np.load(tiny_dataset)
    images = data["x_test"].astype(np.float32)[..., np.newaxis] / 255.0
    accuracy = np.mean(model(images).numpy().argmax(axis=1) == data["y_test"])
    evaluated = finishing.evaluation()["test_accuracy"]
    assert abs(accuracy - evaluated) <= 1 / len(images) and evaluated > 0.75  # easy classes
    finished = time.monotonic()

    # Paused, resumed and stopped through the run folder from here.
    wait_until_training(stopping, min_step=5)
    stopping.pause()
    paused = wait_for(
        lambda: (s := stopping.poll()).state == "paused" and s, timeout=60, what="pause"
    )
    stopping.resume()
    wait_for(lambda: stopping.poll().step > paused.step + 5, timeout=60, what="resume")
    stopping.stop()
    status = stopping.wait(timeout=120)
    assert status.state == "stopped" and status.reason == "user"
    assert (models / "job0.keras").is_file()

    # Killed from here: its actor, found by its run's name, kills the worker at once.
    wait_until_training(killing)
    worker = ray_default.find_run(killing.run_dir, killing.pid)
    assert isinstance(worker, RayWorker) and worker.pid == killing.pid
    killing.kill()
    assert worker.wait(60) is not None and not runner.pid_alive(killing.pid)
    status = killing.poll()
    assert status.state == "failed" and "killed" in status.error

    # Every actor has ended, giving its core and GPU back.
    wait_for(lambda: not convscope_actors(ray), timeout=60, what="the actors to end")
    wait_for(lambda: cluster_cpus_free(ray) == CLUSTER_CPUS, timeout=60, what="the cores")
    assert ray.available_resources().get("GPU", 0.0) == CLUSTER_CPUS
    print(
        f"Replica killed {killed - began:.1f} s after starting; the job it left finished "
        f"{finished - killed:.1f} s later; the others stopped and killed in "
        f"{time.monotonic() - finished:.1f} s"
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_job_the_cluster_cannot_place_fails_saying_why(ray_default, tiny_dataset, tmp_path):
    import ray

    cluster = RayRunner("local", cpus=CLUSTER_CPUS + 1)  # more cores than the cluster has
    monkey = pytest.MonkeyPatch()
    monkey.setattr("core.jobs.ray_runner.PLACEMENT_TIMEOUT_SECONDS", 5.0)
    try:
        run_dir = runs.runs_root(tmp_path / "runs") / "waiting"
        run_dir.mkdir(parents=True)
        (run_dir / runs.CONFIG_FILE).write_text(json.dumps({"created": time.time()}))
        (run_dir / runs.STATUS_FILE).write_text(json.dumps({"state": "queued"}))
        with pytest.raises(RayUnavailableError, match="no room for a job asking for 4 cores"):
            cluster.start("train", run_dir)
        status = read_json(run_dir / runs.STATUS_FILE)
        assert status["state"] == "failed" and "no room" in status["error"]
        # The detached actor that waited for room is gone too, its name free again.
        wait_for(lambda: not convscope_actors(ray), timeout=60, what="the actor to end")
    finally:
        monkey.undo()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_server_without_the_clusters_token_is_told_what_it_needs(ray_default):
    import ray

    code = (
        "from core.jobs.ray_runner import RayRunner\n"
        "try:\n"
        f"    RayRunner({ray.get_runtime_context().gcs_address!r})._connect()\n"
        "except ConnectionError as error:\n"
        "    print(error)\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert "refused this server: it needs the cluster's token" in result.stdout, result.stderr[
        -2000:
    ]
