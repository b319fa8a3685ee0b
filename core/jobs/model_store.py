"""The saved-model store: ``.keras`` files with a JSON sidecar in one folder.

A trained network is kept as two files in the models directory (default
``./models``, or the folder named by the ``CONVSCOPE_MODELS_DIR`` environment
variable): ``<name>.keras``, the model as Keras saves it, and ``<name>.json``,
a sidecar that says what the model was trained on (data set, class names,
preprocessing, input shape), how well it did (metrics, history) and when it
was made. Pages list, rename, delete, download and upload models through the
functions below.

This module never imports TensorFlow or Keras, so the Streamlit server can use
it freely. The one step that needs Keras, checking an uploaded file, runs in the
warm worker process (`core.jobs.worker_client`), which loads it with
``keras.saving.load_model(..., safe_mode=True)``; that refuses ``Lambda`` layers
and other serialized Python code.

Every write is atomic: the bytes go to a temporary file in the same folder,
which then replaces the target with ``os.replace``. A crash or a kill at any
moment leaves either the old file or the new one, never half of one.

Example:

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> list_models(models_dir=folder)
[]
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.base.checks import check_bool, check_string, received
from core.jobs.checkpoints import FINGERPRINT_KEY
from core.jobs.files import (
    _temporary_sibling,
    atomic_write_json,
    copy_durably,
    disk_full_message,
    fsync_folder,
    is_disk_full,
    read_json,
    remove_leftovers,
)
from core.jobs.held_out import held_out_path, write_held_out
from core.jobs.inspection import ModelRejectedError, WorkerCrashedError
from core.jobs.legacy_models import CONVERTED_FROM, LEGACY_NOTE, converted_bytes, is_hdf5
from core.jobs.uploads import model_file_problem, upload_bytes
from core.jobs.worker_client import WorkerClient, shared_client

MODELS_DIR_ENV = "CONVSCOPE_MODELS_DIR"


DEFAULT_MODELS_DIR = "models"


MODEL_SUFFIX = ".keras"


SIDECAR_SUFFIX = ".json"


MAX_UPLOAD_BYTES = 100 * 1024 * 1024


UPLOAD_CHECK_TIMEOUT_SECONDS = 120.0


MAX_NAME_LENGTH = 64

# Inside a .keras file (a zip): the settings, the weights, and the weights' optimizer part.
_KERAS_CONFIG = "config.json"
_KERAS_WEIGHTS = "model.weights.h5"
_OPTIMIZER_GROUP = "optimizer"


_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$")


class ModelStoreError(ValueError):
    """A model could not be found, named, saved or uploaded as asked."""


class ModelUploadError(ModelStoreError):
    """An uploaded file is not a model this app can load safely."""


class ModelNameTakenError(ModelStoreError):
    """Another model already has the name asked for (maybe saved a moment ago by someone else)."""


class StoreFullError(ModelStoreError):
    """The disk had no room for the model; nothing in the store was changed."""


@dataclass(frozen=True)
class SavedModel:
    """One model in the store.

    Attributes:
        name: The name the user gave it (the file stem).
        path: The ``.keras`` file.
        sidecar_path: The ``.json`` sidecar next to it.
        size_bytes: Size of the ``.keras`` file.
        metadata: The sidecar's contents (``{}`` when it is missing or unreadable).
    """

    name: str
    path: Path
    sidecar_path: Path
    size_bytes: int
    metadata: dict

    @property
    def title(self) -> str:
        """How the app names it: the sidecar's ``title`` (the bundled models' "MNIST CNN A"),
        else the name the user gave it."""
        title = self.metadata.get("title")
        return title if isinstance(title, str) and title.strip() else self.name

    @property
    def created(self) -> str | None:
        """ISO time the model was saved, from the sidecar."""
        created = self.metadata.get("created")
        return created if isinstance(created, str) else None

    @property
    def problem(self) -> str | None:
        """What is wrong with the stored files, in words (None: nothing)."""
        if not self.metadata:
            return "its description file is missing or damaged (data set and metrics unknown)"
        return None


def models_dir(models_dir: str | os.PathLike | None = None) -> Path:
    """Return the models folder: ``models_dir``, else ``$CONVSCOPE_MODELS_DIR``, else ``models``."""
    if models_dir is None:
        models_dir = os.environ.get(MODELS_DIR_ENV) or DEFAULT_MODELS_DIR
    return Path(models_dir)


def validate_name(name, *, argument: str = "name") -> str:
    """Check a model name and return it stripped of surrounding spaces.

    Names are 1–64 characters: letters, digits, spaces, ``_``, ``-`` and
    ``.``, starting with a letter or digit, so a name can never point outside
    the models folder.

    Args:
        name: The name to check.
        argument: What the caller calls it, for the messages (``"new_name"``, ``"save_as"``).

    >>> validate_name(" mnist cnn-a ")
    'mnist cnn-a'

    Raises:
        TypeError: if the name is not a string.
        ModelStoreError: if the name is not allowed (a ``ValueError``).
    """
    stripped = check_string(name, argument).strip()
    if stripped.endswith(MODEL_SUFFIX):
        stripped = stripped[: -len(MODEL_SUFFIX)].rstrip()
    if (
        not stripped
        or len(stripped) > MAX_NAME_LENGTH
        or not _NAME_PATTERN.match(stripped)
        or stripped.endswith(".")
    ):
        raise ModelStoreError(
            f"`{argument}` must be 1 to {MAX_NAME_LENGTH} letters, digits, spaces, '_', '-' or "
            f"'.', starting with a letter or digit. {received(argument, name)}"
        )
    return stripped


def model_path(name: str, *, models_dir: str | os.PathLike | None = None) -> Path:
    """Return the ``.keras`` path a model called ``name`` has (whether or not it exists)."""
    return _models_folder(models_dir) / f"{validate_name(name)}{MODEL_SUFFIX}"


def sidecar_path(name: str, *, models_dir: str | os.PathLike | None = None) -> Path:
    """Return the ``.json`` sidecar path of the model called ``name``."""
    return _models_folder(models_dir) / f"{validate_name(name)}{SIDECAR_SUFFIX}"


def list_models(*, models_dir: str | os.PathLike | None = None) -> list[SavedModel]:
    """Return the models in the store, newest first.

    Returns:
        A list of `SavedModel`; an empty list when the folder does not exist.
    """
    folder = _models_folder(models_dir)
    if not folder.is_dir():
        return []
    remove_leftovers(folder)  # half-written files of a save whose process was killed
    found = []
    for path in folder.glob(f"*{MODEL_SUFFIX}"):
        # Hidden names are temporary files of saves in progress; folders are not models.
        if path.name.startswith(".") or not path.is_file():
            continue
        found.append(_saved_model(path))
    found.sort(key=lambda model: (model.created or "", model.name), reverse=True)
    return found


def get_model(name: str, *, models_dir: str | os.PathLike | None = None) -> SavedModel:
    """Return the stored model called ``name``.

    Raises:
        ModelStoreError: if there is no such model.
    """
    path = model_path(name, models_dir=models_dir)
    if not path.is_file():
        raise ModelStoreError(f"There is no saved model called {validate_name(name)!r}.")
    return _saved_model(path)


def save_model_file(
    source: str | os.PathLike,
    name: str,
    metadata: dict | None = None,
    *,
    models_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    keep_optimizer: bool = False,
    test_split: str | os.PathLike | None = None,
) -> SavedModel:
    """Copy a ``.keras`` file into the store under ``name`` with a JSON sidecar.

    By default without the optimizer's state (`without_optimizer`): a model for looking at
    and predicting is a third of the size (Adam keeps two numbers per weight).

    Args:
        source: A ``.keras`` file, e.g. the ``model.keras`` of a finished run.
        name: The model's name in the store (see `validate_name`).
        metadata: What to write in the sidecar (data set, class names,
            preprocessing, input shape, metrics, history, model spec, ...);
            ``name`` and ``created`` are added.
        models_dir: The store's folder (default: see `models_dir`).
        overwrite: Replace a model of the same name instead of refusing.
        keep_optimizer: Keep the optimizer's state (and compile settings), so that
            ``keras.saving.load_model`` gives a model that trains on where it stopped.
        test_split: The run's data set ``.npz`` (an uploaded zip or folder): up to
            `MAX_TEST_IMAGES` of its test images are kept beside the model.

    Returns:
        The new `SavedModel`; its sidecar's ``optimizer_state`` says which it is.

    Raises:
        TypeError: ``name`` is not a string or ``overwrite`` not a bool.
        ModelStoreError: if the name is taken (and ``overwrite`` is False) or
            ``source`` does not exist.
    """
    name = validate_name(name)
    overwrite = check_bool(overwrite, "overwrite")
    keep_optimizer = check_bool(keep_optimizer, "keep_optimizer")
    if not Path(source).is_file():
        raise ModelStoreError(
            f"`source` must be an existing .keras file. {received('source', os.fspath(source))}"
        )
    target = model_path(name, models_dir=models_dir)
    sidecar = {**(metadata or {}), "name": name, "created": _now_iso()}
    sidecar.pop(FINGERPRINT_KEY, None)  # it names the run's file, not the store's copy
    with (
        _disk_full_as_store_error("The model was not saved", target.parent),
        _store_lock(target.parent),
    ):
        if target.exists() and not overwrite:
            raise _name_taken(name)
        with _temporary_sibling(target) as temporary:
            if keep_optimizer or not has_optimizer_state(source):
                copy_durably(source, temporary)  # nothing to leave out: the same bytes
            else:
                without_optimizer(source, temporary)
            sidecar["optimizer_state"] = has_optimizer_state(temporary)
            # The model goes first: a sidecar never describes a model that is not there.
            _install(temporary, target, overwrite=overwrite, name=name)
        if test_split is not None:
            sidecar["test_images"] = write_held_out(test_split, held_out_path(target))
        atomic_write_json(sidecar_path(name, models_dir=models_dir), sidecar)
    return _saved_model(target)


def without_optimizer(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Write ``source`` (a ``.keras`` file) to ``target`` without its optimizer state.

    Keras 3's ``model.save`` has no ``include_optimizer=False`` (only the legacy HDF5 and
    SavedModel formats had it), so this does what that option did on the saved file: the
    ``optimizer`` group leaves the weights file and ``compile_config`` the settings, so
    ``keras.saving.load_model`` gives an uncompiled model (compile it to train it further)
    rather than one that warns about skipped optimizer variables. Layers and weights are
    copied untouched; the bytes are flushed to disk.

    Raises:
        ModelStoreError: ``source`` is not a whole ``.keras`` file.
    """
    import h5py  # not TensorFlow: fine in the server

    try:
        with zipfile.ZipFile(source) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
        config = json.loads(members[_KERAS_CONFIG])
        weights = members[_KERAS_WEIGHTS]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise ModelStoreError(
            "The model file is damaged (not a whole Keras file), so it was not saved; train "
            f"the model again. {received('source', os.fspath(source))}"
        ) from error
    config.pop("compile_config", None)
    members[_KERAS_CONFIG] = json.dumps(config).encode()
    lean = io.BytesIO()
    with h5py.File(io.BytesIO(weights), "r") as full, h5py.File(lean, "w") as kept:
        kept.attrs.update(full.attrs)
        for key in full:
            if key != _OPTIMIZER_GROUP:
                full.copy(full[key], kept, name=key)
    members[_KERAS_WEIGHTS] = lean.getvalue()
    with open(target, "wb") as writer:
        with zipfile.ZipFile(writer, "w", zipfile.ZIP_STORED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        writer.flush()
        os.fsync(writer.fileno())


def has_optimizer_state(path: str | os.PathLike) -> bool:
    """Whether a ``.keras`` file holds optimizer variables (False for a damaged file)."""
    import h5py

    try:
        with zipfile.ZipFile(path) as archive:
            weights = archive.read(_KERAS_WEIGHTS)
        with h5py.File(io.BytesIO(weights), "r") as handle:
            group = handle.get(_OPTIMIZER_GROUP)
            return group is not None and len(group.get("vars", {})) > 0
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False


def rename_model(
    name: str, new_name: str, *, models_dir: str | os.PathLike | None = None
) -> SavedModel:
    """Rename a stored model (both files).

    Raises:
        ModelStoreError: if ``name`` does not exist or ``new_name`` is taken.
    """
    model = get_model(name, models_dir=models_dir)
    new_name = validate_name(new_name, argument="new_name")
    if new_name == model.name:
        return model
    new_path = model_path(new_name, models_dir=models_dir)
    with (
        _disk_full_as_store_error("The model was not renamed", new_path.parent),
        _store_lock(new_path.parent),
    ):
        if not model.path.is_file():
            raise ModelStoreError(f"There is no saved model called {model.name!r} any more.")
        metadata = {**model.metadata, "name": new_name}
        # A second name for the same file, made only if it is free, then the old one goes.
        _install(model.path, new_path, overwrite=False, name=new_name)
        with contextlib.suppress(FileNotFoundError):  # moved, where there are no hard links
            model.path.unlink()
        atomic_write_json(sidecar_path(new_name, models_dir=models_dir), metadata)
        with contextlib.suppress(FileNotFoundError):
            model.sidecar_path.unlink()
        with contextlib.suppress(FileNotFoundError):  # its test images go with it
            held_out_path(model.path).rename(held_out_path(new_path))
    return _saved_model(new_path)


def delete_model(name: str, *, models_dir: str | os.PathLike | None = None) -> None:
    """Delete a stored model, its sidecar and its test images.

    Raises:
        ModelStoreError: if there is no such model.
    """
    model = get_model(name, models_dir=models_dir)
    with _store_lock(model.path.parent):
        with contextlib.suppress(FileNotFoundError):
            model.path.unlink()
        with contextlib.suppress(FileNotFoundError):
            model.sidecar_path.unlink()
        with contextlib.suppress(FileNotFoundError):
            held_out_path(model.path).unlink()


def read_model_bytes(name: str, *, models_dir: str | os.PathLike | None = None) -> bytes:
    """Return the ``.keras`` file's bytes, e.g. for ``st.download_button``."""
    return get_model(name, models_dir=models_dir).path.read_bytes()


def inspect_model_file(
    path: str | os.PathLike,
    *,
    timeout: float = UPLOAD_CHECK_TIMEOUT_SECONDS,
    client: WorkerClient | None = None,
) -> dict:
    """Load a ``.keras`` file with ``safe_mode=True`` in the warm worker and describe it.

    The server stays free of TensorFlow: the worker of `core.jobs.worker_client.shared_client`
    (or ``client``) does the loading.

    Returns:
        ``{"input_shape": [...], "output_shape": [...], "total_params": int,
        "layers": [{"name", "class_name"}, ...], "first_conv_layer": str | None}``.

    Raises:
        ModelUploadError: with the reason when the file cannot be loaded safely
            (``Lambda`` layers, custom objects, not a Keras file, ...) or checked at all.
    """
    client = client or shared_client()
    try:
        return client.check_model_file(path, timeout=timeout)
    except ModelRejectedError as error:
        raise ModelUploadError(str(error)) from None
    except WorkerCrashedError as error:
        raise ModelUploadError(f"The model could not be checked: {error}") from None


def upload_model(
    data: bytes,
    name: str,
    *,
    models_dir: str | os.PathLike | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
    overwrite: bool = False,
    metadata: dict | None = None,
    client: WorkerClient | None = None,
) -> SavedModel:
    """Check an uploaded ``.keras`` file in a worker process and add it to the store.

    The same checks as "Inspect a Network" makes on an upload: what
    `core.jobs.uploads.model_file_problem` finds wrong is refused at once, the rest is
    loaded in the warm worker, which refuses a model the pages cannot use and adds
    ``notes`` (recorded in the sidecar) on what they can only partly show.

    Args:
        data: The file's bytes (``st.file_uploader(...).getvalue()``).
        name: The name to store it under.
        models_dir: The store's folder.
        max_bytes: Largest accepted upload.
        overwrite: Replace a model of the same name.
        metadata: Extra sidecar fields (e.g. ``class_names``); the sidecar also
            records ``"source": "upload"`` and what the check found.
        client: The worker client that checks it (default: `shared_client`).

    Returns:
        The new `SavedModel`.

    Raises:
        TypeError: ``data`` is not bytes, ``name`` not a string or ``overwrite`` not a bool.
        ModelUploadError: if the file is too big, not a ``.keras`` archive, or
            refused by ``safe_mode`` (a ``Lambda`` layer or custom code).
        ModelStoreError: if the name is not allowed or taken.
    """
    name = validate_name(name)
    overwrite = check_bool(overwrite, "overwrite")
    data = upload_bytes(data)
    size = len(data)
    if size > max_bytes:
        raise ModelUploadError(
            f"The file is {size / 1e6:.1f} MB; uploads are limited to {max_bytes / 1e6:.0f} MB."
        )
    if is_hdf5(data):  # an older Keras .h5 model: converted in the worker, then checked as .keras
        try:
            data = converted_bytes(data, client or shared_client())
        except (ModelRejectedError, WorkerCrashedError) as error:
            raise ModelUploadError(str(error)) from None
        metadata = {**(metadata or {}), CONVERTED_FROM: "h5"}
    if (problem := model_file_problem(data)) is not None:
        raise ModelUploadError(problem)
    target = model_path(name, models_dir=models_dir)
    if target.exists() and not overwrite:
        raise ModelStoreError(
            f"A model called {name!r} already exists. Choose another name or delete it first."
        )
    with _temporary_sibling(target) as temporary:
        # Keras recognises the format by the suffix, so the checked copy ends in .keras.
        checked = temporary.with_name(temporary.name + MODEL_SUFFIX)
        try:
            checked.write_bytes(data)
            description = inspect_model_file(checked, client=client)
            sidecar = {
                **(metadata or {}),
                "source": "upload",
                "input_shape": description.get("input_shape"),
                "output_shape": description.get("output_shape"),
                "total_params": description.get("total_params"),
                "notes": ([LEGACY_NOTE] if CONVERTED_FROM in (metadata or {}) else [])
                + (description.get("notes") or []),
                "name": name,
                "created": _now_iso(),
            }
            os.replace(checked, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                checked.unlink()
    atomic_write_json(sidecar_path(name, models_dir=models_dir), sidecar)
    return _saved_model(target)


def _models_folder(folder) -> Path:
    return models_dir(folder)


def _name_taken(name: str) -> ModelNameTakenError:
    return ModelNameTakenError(
        f"A model called {name!r} already exists (it may have been saved a moment ago from "
        "another session). Choose another name, or tick the box to replace it."
    )


def _install(source: Path, target: Path, *, overwrite: bool, name: str) -> None:
    """Give the finished file ``source`` the name ``target`` in one step.

    Without ``overwrite`` the new name is a hard link, made only if the name is free (the
    kernel decides, so of two saves racing for one name exactly one wins); ``source`` keeps
    its own name too. On a file system without hard links the store's lock (held by every
    save) keeps the check and the move together instead.
    """
    if overwrite:
        os.replace(source, target)
    else:
        try:
            os.link(source, target)
        except FileExistsError:
            raise _name_taken(name) from None
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK):
                raise
            if target.exists():
                raise _name_taken(name) from None
            os.replace(source, target)
    fsync_folder(target.parent)


@contextlib.contextmanager
def _store_lock(folder: Path) -> Iterator[None]:
    """Hold the store's lock: one save, rename or delete at a time, across processes.

    The lock (``flock``) is on the folder itself, so it needs no file of its own (and no
    room on a full disk); two sessions saving under one name never mix one's model with the
    other's sidecar.
    """
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


@contextlib.contextmanager
def _disk_full_as_store_error(what: str, folder: Path) -> Iterator[None]:
    """Turn a full disk (or a size or quota limit) into a `StoreFullError` in plain words."""
    try:
        yield
    except OSError as error:
        if is_disk_full(error):
            raise StoreFullError(disk_full_message(what, folder)) from None
        raise


def _saved_model(path: Path) -> SavedModel:
    sidecar = path.with_suffix(SIDECAR_SUFFIX)
    metadata = read_json(sidecar, default={})
    if not isinstance(metadata, dict):
        metadata = {}
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = 0
    return SavedModel(
        name=path.name[: -len(MODEL_SUFFIX)],
        path=path,
        sidecar_path=sidecar,
        size_bytes=size,
        metadata=metadata,
    )


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
