"""Every model file of the corpus through both model uploaders, with a real warm worker.

Each entry goes the way the pages send it: "Upload .keras" on Inspect a Network calls
`WorkerClient.load_upload` (and refuses a `ModelInfo` with a `problem`); the Train page's
"upload a model" calls `model_store.upload_model`. Both must agree with the entry: refuse
with a plain-words message holding `entry.message`, accept with a note holding it, or
accept. One worker serves the whole module. Refusals of hostile or huge files must come
before any worker work: they are timed side by side with accepting a small model.
"""

from __future__ import annotations

import re
import statistics
import time

import pytest

from core.jobs import model_store
from core.jobs.inspection import ModelRejectedError
from core.jobs.model_store import ModelStoreError
from core.jobs.worker_client import WorkerClient
from tests.corpus.models import ENTRIES

# What a message shown to a person must never hold: exception names, tracebacks, module paths.
RAW = re.compile(r"Traceback|\b\w+(Error|Exception)\b|keras\.src|File \"|<\w+ object|\bat 0x")

# Files that would cost the worker time or run code; they must be refused before it.
HOSTILE = ("model/zip-bomb", "model/lambda", "model/pickle-renamed", "model/saved-model-zip")


def inspect_outcome(client: WorkerClient, data: bytes) -> tuple[str, str]:
    """What Inspect a Network does with an upload: ("refuse" | "note" | "accept", words)."""
    try:
        info = client.load_upload(data)
    except ModelRejectedError as error:
        return "refuse", str(error)
    if info.problem:
        return "refuse", info.problem
    return ("note", " ".join(info.notes)) if info.notes else ("accept", "")


def store_outcome(client: WorkerClient, data: bytes, folder) -> tuple[str, str]:
    """What the Train page's "upload a model" does with it."""
    try:
        saved = model_store.upload_model(data, "corpus model", models_dir=folder, client=client)
    except ModelStoreError as error:
        assert model_store.list_models(models_dir=folder) == []
        return "refuse", str(error)
    notes = saved.metadata.get("notes") or []
    assert model_store.list_models(models_dir=folder) == [saved]
    return ("note", " ".join(notes)) if notes else ("accept", "")


def check(entry, outcome: tuple[str, str]) -> None:
    kind, words = outcome
    assert kind == entry.outcome, (entry.name, outcome)
    assert entry.message.lower() in words.lower(), (entry.name, words)
    assert not RAW.search(words), (entry.name, words)


def entry_params(entries):
    return [
        pytest.param(entry, id=entry.name, marks=[pytest.mark.slow] if entry.slow else [])
        for entry in entries
    ]


@pytest.mark.parametrize("entry", entry_params(ENTRIES))
def test_both_uploaders_do_what_the_corpus_says(entry, client, tmp_path):
    data = entry.make()
    check(entry, inspect_outcome(client, data))
    check(entry, store_outcome(client, data, tmp_path / "store"))


def test_every_refusal_says_what_to_do_and_no_entry_needs_the_worker_by_mistake():
    """Entries not marked slow are refused before any worker starts (the browser fuzz test
    and quick runs rely on it)."""
    fresh = WorkerClient()
    for entry in ENTRIES:
        if entry.slow:
            continue
        assert entry.outcome == "refuse", entry.name
        with pytest.raises(ModelRejectedError) as refused:
            fresh.load_upload(entry.make())
        assert entry.message.lower() in str(refused.value).lower(), entry.name
    assert fresh.starts == 0


@pytest.mark.slow
def test_hostile_and_huge_files_are_refused_faster_than_a_small_model_is_accepted(client, tmp_path):
    by_name = {entry.name: entry for entry in ENTRIES}
    small = by_name["model/small-cnn"].make()
    model_store.upload_model(small, "warm-up", models_dir=tmp_path, client=client)
    accepting = []
    for attempt in range(3):
        started = time.perf_counter()
        model_store.upload_model(small, f"small {attempt}", models_dir=tmp_path, client=client)
        accepting.append(time.perf_counter() - started)
    refusing = {}
    for name in HOSTILE:
        data = by_name[name].make()
        started = time.perf_counter()
        with pytest.raises(ModelStoreError):
            model_store.upload_model(data, "hostile", models_dir=tmp_path, client=client)
        with pytest.raises(ModelRejectedError):
            client.load_upload(data)
        refusing[name] = (time.perf_counter() - started) / 2
    accept = statistics.median(accepting)
    print(f"accept a small model: {accept * 1000:.0f} ms (median of 3)")
    for name, seconds in refusing.items():
        print(f"refuse {name}: {seconds * 1000:.1f} ms ({accept / max(seconds, 1e-6):.0f}× faster)")
    assert max(refusing.values()) < accept / 5, (refusing, accept)
