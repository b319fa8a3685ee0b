"""Feature visualisation: the input that makes one channel of a layer fire most.

Gradient ascent on the channel's mean activation, starting from seeded, faint noise on grey
(Olah et al., "Feature Visualization", Distill 2017, in its simplest form). Two tricks keep
the picture readable instead of high-frequency noise that only this network responds to:

- jitter: before each step the image is rolled by a random shift of up to `jitter` pixels,
  so no pattern can rely on exact pixel positions;
- smoothness: a total-variation penalty (the summed differences of neighbouring pixels).

It climbs a leaky version of the channel's ReLU (`climbing_source`): a unit that is off on
the starting noise has no gradient through the ReLU itself.

Each step's two gradients are scaled to a mean magnitude of one before they are combined,
so `step_size` is in pixel units (the input is [0, 1]) and `smoothness` is a plain ratio,
whatever the layer's scale. Pixels are clipped to [0, 1] after every step. The search is
seeded (same seed, same image) and time-bounded: it stops at its time budget and returns
the best image seen, scored without jitter.

TensorFlow is imported inside the functions that need it: the Streamlit server and the
test process import this package's siblings' vocabulary without starting TensorFlow.
"""

from __future__ import annotations

import time

import numpy as np

from core.base.checks import check_int, check_real, received
from core.jobs.inspection import (
    FEATURE_TIME_BUDGET,
    MAX_FEATURE_TIME_BUDGET,
    FeatureVisualisation,
    LayerInfo,
    ModelInfo,
    nan_weights_message,
)

STEPS = 160
STEP_SIZE = 0.04
JITTER = 2
SMOOTHNESS = 0.3
LEAK = 0.1  # slope below zero of the ReLU the climb uses (`climbing_source`)
CHECK_EVERY = 8  # steps between scoring the image without jitter (for the best so far)


def starting_noise(input_shape, seed: int) -> np.ndarray:
    """Faint seeded noise on mid-grey: float32 `(H, W, C)` in [0, 1].

    >>> noise = starting_noise((4, 4, 1), seed=0)
    >>> noise.shape, bool(abs(float(noise.mean()) - 0.5) < 0.05)
    ((4, 4, 1), True)
    >>> bool((noise == starting_noise((4, 4, 1), seed=0)).all())
    True
    """
    rng = np.random.default_rng(seed)
    noise = 0.5 + 0.05 * rng.standard_normal(tuple(input_shape))
    return np.clip(noise, 0.0, 1.0).astype(np.float32)


def jitter_shifts(steps: int, jitter: int, seed: int) -> np.ndarray:
    """`steps` random (row, column) shifts in [-jitter, jitter], int32 `(steps, 2)`.

    >>> shifts = jitter_shifts(100, 2, seed=1)
    >>> shifts.shape, int(shifts.min()) >= -2, int(shifts.max()) <= 2
    ((100, 2), True, True)
    """
    rng = np.random.default_rng([seed, 1])  # a stream of its own, apart from the noise
    return rng.integers(-jitter, jitter + 1, size=(steps, 2)).astype(np.int32)


def check_channel(layer: LayerInfo, channel) -> int:
    """A channel index of `layer`'s feature maps.

    >>> check_channel(LayerInfo("conv", "Conv2D", "conv", (8, 8, 4), 40), 4)
    Traceback (most recent call last):
    ValueError: `channel` must be at most 3 (conv has 4 channels). Received: channel=4.
    """
    channels = int(layer.output_shape[-1])
    channel = check_int(channel, "channel", minimum=0)
    if channel >= channels:
        raise ValueError(
            f"`channel` must be at most {channels - 1} ({layer.name} has {channels} channels). "
            f"{received('channel', channel)}"
        )
    return channel


def climbing_source(info: ModelInfo, layer: str) -> tuple[str, str]:
    """Which map the ascent climbs for a channel of `layer`: `(layer name, "before"|"output")`.

    A ReLU unit that is off everywhere on the starting noise has no gradient, so the climb
    would never start: it climbs a leaky ReLU (slope `LEAK` below zero) of the values
    before the non-linearity instead, of the layer itself or, through pooling (channel by
    channel), of the layer that feeds it. What is reported is still the layer's own output.

    >>> layers = (LayerInfo("c", "Conv2D", "conv", (8, 8, 4), 40, activation="relu"),
    ...           LayerInfo("p", "MaxPooling2D", "pooling", (4, 4, 4), 0, inbound=("c",)))
    >>> info = ModelInfo("m", "m", (8, 8, 1), 2, layers, 40)
    >>> climbing_source(info, "p"), climbing_source(info, "c")
    (('c', 'before'), ('c', 'before'))
    """
    source = info.layer(layer)
    # A model called more than once lists a layer's inbound layer once per call.
    while source.kind == "pooling" and len(set(source.inbound)) == 1:
        source = info.layer(source.inbound[0])
    plain_conv = source.class_name in ("Conv2D", "Convolution2D")  # one kernel, one bias
    fused = plain_conv and source.activation not in (None, "linear")
    if fused or source.kind == "activation":
        return source.name, "before"
    return layer, "output"


def make_ascent(keras, model, info: ModelInfo, layer: str):
    """Compiled `(image batch, shift, channel, step size, smoothness) → (next image,
    objective)` for one layer, and `(image batch, channel) → the channel's mean output`.

    One pair per layer and model (the channel is an argument, so changing it reuses the
    trace); the caller keeps it (`Worker` caches it per model).
    """
    import tensorflow as tf

    layer_model = keras.Model(model.inputs[0], model.get_layer(layer).output)
    shape = (1, *info.input_shape)
    source, where = climbing_source(info, layer)
    source_layer = model.get_layer(source)
    tensor = source_layer.input if where == "before" else source_layer.output
    source_model = keras.Model(model.inputs[0], tensor)
    fused = info.layer(source).kind == "conv" and where == "before"

    def channel_mean(images, channel):
        maps = layer_model(images, training=False)
        return tf.reduce_mean(tf.gather(maps, channel, axis=-1))

    def climbed_mean(images, channel):
        values = source_model(images, training=False)
        if fused:  # the conv's own arithmetic without its activation
            values = source_layer.convolution_op(values, source_layer.kernel)
            if source_layer.use_bias:
                values = values + source_layer.bias
        values = tf.gather(values, channel, axis=-1)
        if where == "before":  # off units still pull upwards, ten times weaker
            values = tf.nn.leaky_relu(values, alpha=LEAK)
        return tf.reduce_mean(values)

    @tf.function(
        input_signature=[
            tf.TensorSpec(shape, tf.float32),
            tf.TensorSpec((2,), tf.int32),
            tf.TensorSpec((), tf.int32),
            tf.TensorSpec((), tf.float32),
            tf.TensorSpec((), tf.float32),
        ],
        autograph=False,  # plain Python branches only; autograph would write files to TMPDIR
    )
    def ascend(image, shift, channel, step_size, smoothness):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(image)
            objective = climbed_mean(tf.roll(image, shift, axis=[1, 2]), channel)
            roughness = tf.reduce_sum(tf.image.total_variation(image))
        rise = tape.gradient(objective, image)
        smooth = tape.gradient(roughness, image)
        del tape
        rise = rise / (tf.reduce_mean(tf.abs(rise)) + 1e-12)
        smooth = smooth / (tf.reduce_mean(tf.abs(smooth)) + 1e-12)
        step = step_size * (rise - smoothness * smooth)
        return tf.clip_by_value(image + step, 0.0, 1.0), objective

    @tf.function(
        input_signature=[tf.TensorSpec(shape, tf.float32), tf.TensorSpec((), tf.int32)],
        autograph=False,
    )
    def score(image, channel):
        return channel_mean(image, channel)

    return ascend, score


def visualise(
    entry,
    layer: str,
    channel,
    seed=0,
    time_budget=FEATURE_TIME_BUDGET,
    *,
    steps=STEPS,
) -> FeatureVisualisation:
    """The input (in [0, 1]) that excites `channel` of map layer `layer` most.

    `entry` is the worker's loaded model (`keras`, `model`, `info`), whose `visualisers`
    keep the compiled functions per layer between calls. Stops after `steps` steps or
    `time_budget` seconds (tracing included), whichever comes first, and returns the best
    image seen.

    Raises:
        ValueError: a layer without feature maps or made from NaN weights, a channel out of
            range, or a bad seed, budget or step count.
    """
    start = time.perf_counter()
    info, cache = entry.info, entry.visualisers
    layer_info = info.layer(layer)
    if not layer_info.is_map:
        raise ValueError(f"`layer` must output feature maps. {received('layer', layer)}")
    if layer in info.nan_affected:
        raise ValueError(nan_weights_message(f"what excites {layer} most", info.nan_layers))
    channel = check_channel(layer_info, channel)
    seed = check_int(seed, "seed", minimum=0)
    time_budget = check_real(
        time_budget, "time_budget", minimum=0, open_min=True, maximum=MAX_FEATURE_TIME_BUDGET
    )
    steps = check_int(steps, "steps", minimum=1, maximum=10_000)
    import tensorflow as tf

    if layer not in cache:
        cache[layer] = make_ascent(entry.keras, entry.model, info, layer)
    ascend, score = cache[layer]
    channel_tensor = tf.constant(channel, tf.int32)
    image = tf.constant(starting_noise(info.input_shape, seed)[np.newaxis])
    best_image = image
    best = start_activation = float(score(image, channel_tensor))
    taken = 0
    size, smoothness = tf.constant(STEP_SIZE), tf.constant(SMOOTHNESS)
    for shift in jitter_shifts(steps, JITTER, seed):
        if time.perf_counter() - start > time_budget:
            break
        image, _ = ascend(image, tf.constant(shift), channel_tensor, size, smoothness)
        taken += 1
        if taken % CHECK_EVERY == 0 or taken == steps:
            value = float(score(image, channel_tensor))
            if value > best:
                best, best_image = value, image
    if not np.isfinite(best):
        raise ValueError(nan_weights_message(f"what excites {layer} most", info.nan_layers))
    return FeatureVisualisation(
        layer=layer,
        channel=channel,
        image=np.asarray(best_image[0], dtype=np.float32),
        activation=best,
        start_activation=start_activation,
        steps=taken,
        seconds=time.perf_counter() - start,
        stopped_early=taken < steps,
    )
