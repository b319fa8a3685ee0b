"""Faults on the Train page, through AppTest: run folders broken by hand, a run folder deleted
while it is listed or followed, a full disk and a taken name when saving, two sessions saving
under one name at the same moment.

Every case ends with a plain message on the page (what is wrong, what to do), never an
exception box, and with the rest of the page still working.
"""

from __future__ import annotations

import shutil
import threading

import pytest
from streamlit.testing.v1 import AppTest

from core.jobs import model_store
from tests.app_pages.test_page_train_cnn import PAGE
from tests.helpers_faults import DAMAGES, fill, finished_run, small_disk
from tests.helpers_training import write_tiny_dataset


@pytest.fixture()
def folders(tmp_path, monkeypatch, shared_data):
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(shared_data))
    monkeypatch.setenv("CONVSCOPE_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CONVSCOPE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("CONVSCOPE_IDLE_STOP_SECONDS", "60")
    return tmp_path


@pytest.fixture()
def run_dir(folders):
    return finished_run(write_tiny_dataset(folders / "tiny.npz"), folders / "runs")


def open_page(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.session_state["train.recent_open"] = True  # the recent runs, unfolded
    at.run()
    assert_no_exception(at)
    return at


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts(elements) -> str:
    return "\n".join(element.value for element in elements)


def metric_labels(at: AppTest) -> list[str]:
    return [metric.label for metric in at.metric]


def test_an_intact_run_opens_with_results_and_no_warning(run_dir):
    at = open_page(run=run_dir.name)
    assert not at.warning and not at.error, texts(at.warning) + texts(at.error)
    assert "Test accuracy" in metric_labels(at)
    assert at.text_input(key="train.save_name").value


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_run_broken_by_hand_opens_and_says_what_is_broken(run_dir, damage):
    break_it, phrase = DAMAGES[damage]
    break_it(run_dir)
    at = open_page(run=run_dir.name)
    warnings = texts(at.warning)
    assert "Parts of this run cannot be read" in warnings and phrase in warnings, warnings
    assert "Traceback" not in warnings and "Error" not in warnings
    # What is intact is still shown.
    evaluation_intact = not damage.startswith("evaluation")
    assert ("Test accuracy" in metric_labels(at)) == evaluation_intact
    if not evaluation_intact:
        assert "test results cannot be read" in warnings
    if damage.startswith("model"):
        assert not any(box.key == "train.save_name" for box in at.text_input)
    if damage == "model deleted":
        assert "model file is missing (deleted or moved), so it cannot be saved" in warnings
    if damage.startswith("status"):
        assert "how it ended is unknown" in warnings
    # The page still serves: a new run can be started.
    assert not at.button(key="train.start").disabled


def test_a_damaged_run_is_marked_in_the_recent_runs_list(run_dir, folders):
    (run_dir / "config.json").write_text("{")
    (folders / "runs" / "notes.txt").write_text("a stray file")
    (folders / "runs" / "empty folder").mkdir()
    at = open_page()
    picker = at.selectbox(key="train.recent_pick")
    assert picker.value == str(run_dir)
    [label] = picker.options  # the stray file and the empty folder are not runs
    assert label.startswith(run_dir.name)
    assert "damaged: its settings file (config.json) is missing or damaged" in label
    at.button(key="train.attach").click().run()
    assert_no_exception(at)
    assert "Parts of this run cannot be read" in texts(at.warning)


def test_a_run_deleted_while_listed_is_said_to_be_gone(run_dir, folders):
    other = finished_run(write_tiny_dataset(folders / "other.npz"), folders / "runs")
    at = open_page()
    at.selectbox(key="train.recent_pick").set_value(str(run_dir)).run()
    shutil.rmtree(run_dir)
    at.button(key="train.attach").click().run()
    assert_no_exception(at)
    assert "That run's folder is gone" in texts(at.warning)
    assert not run_dir.exists()
    # The click is not taken as a click on the run that is now first in the list.
    assert "train.run_dir" not in at.session_state
    assert at.selectbox(key="train.recent_pick").value == str(other)


def test_a_run_deleted_while_followed_is_said_to_be_gone(run_dir):
    at = open_page(run=run_dir.name)
    assert "Test accuracy" in metric_labels(at)
    shutil.rmtree(run_dir)
    at.run()
    assert_no_exception(at)
    assert "no longer exists" in texts(at.warning)
    assert not run_dir.exists()


def test_saving_under_a_taken_name_says_so_and_keeps_the_first(run_dir, folders):
    at = open_page(run=run_dir.name)
    at.text_input(key="train.save_name").set_value("digits")
    at.button(key="train.save").click().run()
    assert "Saved as **digits**" in texts(at.success)
    first = (folders / "models" / "digits.keras").read_bytes()
    at.button(key="train.save").click().run()
    assert_no_exception(at)
    assert "A model called 'digits' already exists" in texts(at.error)
    assert "Choose another name" in texts(at.error)
    assert (folders / "models" / "digits.keras").read_bytes() == first


def test_two_sessions_saving_one_name_at_the_same_moment(run_dir, folders):
    sessions = [open_page(run=run_dir.name) for _ in range(2)]
    for at in sessions:
        at.text_input(key="train.save_name").set_value("shared name")
        at.button(key="train.save").click()
    threads = [threading.Thread(target=at.run) for at in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for at in sessions:
        assert_no_exception(at)
    successes = [texts(at.success) for at in sessions if at.success]
    refusals = [texts(at.error) for at in sessions if at.error]
    assert len(successes) == 1 and len(refusals) == 1, (successes, refusals)
    assert "already exists" in refusals[0]
    [stored] = model_store.list_models()
    assert stored.name == "shared name" and stored.problem is None
    assert stored.path.read_bytes() == (run_dir / "model.keras").read_bytes()


def test_a_full_disk_when_saving_says_so_and_what_to_do(run_dir, folders, monkeypatch):
    with small_disk(folders / "disk") as disk:
        store = disk / "models"
        monkeypatch.setenv("CONVSCOPE_MODELS_DIR", str(store))
        model_store.save_model_file(run_dir / "model.keras", "earlier", models_dir=store)
        earlier = (store / "earlier.keras").read_bytes()
        filler = fill(disk)
        at = open_page(run=run_dir.name)
        at.session_state["train.models_open"] = True  # the models folder, unfolded
        at.text_input(key="train.save_name").set_value("digits")
        at.button(key="train.save").click().run()
        assert_no_exception(at)
        error = texts(at.error)
        assert "the disk is full" in error and "Free some space" in error, error
        assert "Errno" not in error and "OSError" not in error
        assert sorted(p.name for p in store.iterdir()) == ["earlier.json", "earlier.keras"]
        assert (store / "earlier.keras").read_bytes() == earlier
        assert at.selectbox(key="train.store_pick").options == ["earlier"]

        filler.unlink()  # what the message says to do; then the same click works
        at.button(key="train.save").click().run()
        assert "Saved as **digits**" in texts(at.success)
        assert sorted(at.selectbox(key="train.store_pick").options) == ["digits", "earlier"]
