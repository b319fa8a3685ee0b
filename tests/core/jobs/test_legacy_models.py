"""core.jobs.legacy_models: .h5 uploads recognised on the server, converted by a real worker."""

from __future__ import annotations

import io
import zipfile

import pytest

from core.jobs import legacy_models
from core.jobs.inspection import ModelRejectedError
from core.jobs.uploads import upload_dir
from tests.corpus.legacy_models import tf_keras2_h5


def test_hdf5_is_told_by_its_signature():
    assert legacy_models.is_hdf5(tf_keras2_h5())
    assert not legacy_models.is_hdf5(b"PK\x03\x04rest")
    assert not legacy_models.is_hdf5(b"\x89HDF")  # too short to be one


@pytest.mark.slow
def test_the_worker_converts_and_leaves_no_h5_behind(client, tmp_path):
    target = tmp_path / "converted.keras"
    legacy_models.convert_to_keras(tf_keras2_h5(), target, client)
    assert zipfile.is_zipfile(target)
    assert [path.name for path in tmp_path.iterdir()] == ["converted.keras"]
    assert zipfile.is_zipfile(io.BytesIO(legacy_models.converted_bytes(tf_keras2_h5(), client)))


@pytest.mark.slow
def test_an_upload_is_converted_once_and_carries_the_note(client):
    data = tf_keras2_h5()
    first = legacy_models.load_legacy_upload(client, data)
    mtime = (upload_dir() / first.path.rsplit("/", 1)[-1]).stat().st_mtime_ns
    second = legacy_models.load_legacy_upload(client, data)
    assert second.path == first.path and second.notes[0] == legacy_models.LEGACY_NOTE
    assert (upload_dir() / first.path.rsplit("/", 1)[-1]).stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_a_refusal_leaves_nothing_in_the_uploads(client):
    before = set(upload_dir().iterdir()) if upload_dir().exists() else set()
    with pytest.raises(ModelRejectedError, match="only weights"):
        legacy_models.load_legacy_upload(client, tf_keras2_h5(weights_only=True))
    assert set(upload_dir().iterdir()) <= before
