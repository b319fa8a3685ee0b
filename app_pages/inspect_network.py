"""Inspect a Network: look inside a trained CNN — filters, feature maps, pooling, attention.

Pick a model (bundled, your own, or an upload) and an input (a test image, a photo, a digit
you draw, the camera). The page shows what the network sees, what it predicts, and why:
the filters of any conv layer and the classic kernels they resemble, every feature map, what
ReLU and pooling do to a map, the receptive field of a deep unit, saliency and Grad-CAM,
and the test images that excite a filter most. Models with branches (residual blocks,
Inception modules) work too: their maps are grouped by branch.

All TensorFlow work happens in a separate worker process (`core.jobs.worker_client`), so this page
stays quick: the Streamlit server never imports TensorFlow or Keras.
"""

import streamlit as st

from core.jobs.inspection import InferenceError, ModelRejectedError
from ui.inspect import compare, layer_sections, mistakes, model_sections, unit
from ui.inspect.attack import attack_section
from ui.inspect.feature_visualisation import feature_visualisation
from ui.inspect.inputs import input_picker, test_set_for
from ui.inspect.link import LINK, TAB_NAMES, TAB_SLUGS, keep_closed
from ui.inspect.models import inference_client, load_model_info, model_picker
from ui.room.offers import offer_class_question
from ui.widgets.closed_tabs import is_open
from ui.widgets.presentation import main_picture
from ui.widgets.tab_charts import in_tab

st.title("Inspect a Network")
st.caption(
    "A trained CNN is a stack of filters. Feed it one image and follow the image through "
    "the layers: which patterns each filter looks for, where it finds them, and which parts "
    "of the image decide the answer."
)

LINK.start()  # a shared link picks the model, the input and every layer; the address follows
main_picture(".st-key-inspect-input_chart")  # presentation mode: the input and its prediction
controls, _ = st.columns([3, 1])
with controls:
    choice = model_picker()
if choice is None:
    st.stop()
info = load_model_info(choice)
if info is None:
    st.stop()

with controls:
    test = test_set_for(choice, info)
    sample = input_picker(choice, info, test)
if sample is None:
    st.stop()

client = inference_client()
try:
    maps = client.feature_maps(choice.path, sample.image)
except (ValueError, InferenceError, ModelRejectedError) as error:
    st.error(f"The network could not run on this input: {error}")
    st.stop()

class_names = model_sections.class_names_for(info, choice.metadata, test)
model_sections.input_and_prediction(sample, maps, class_names)
offer_class_question(maps.probabilities, class_names)  # the lecture room's question

# Only the open tab draws anything (opening another reruns the page); the closed tabs keep
# their controls' values for the link: a first visit builds one tab, not nine.
tabs = dict(zip(TAB_SLUGS, st.tabs(TAB_NAMES, key="inspect.tab", on_change="rerun"), strict=True))
shown = next((slug for slug, tab in tabs.items() if is_open(tab)), TAB_SLUGS[0])
layer_names = {layer.name for layer in info.layers}
for slug in TAB_SLUGS:
    if slug != shown:
        keep_closed(slug, layer_names)
with in_tab(tabs[shown]):
    if shown == "filters":
        st.markdown(
            "The first convolution layer looks at raw pixels. After training, its filters often "
            "resemble kernels people designed by hand: edge detectors, blob detectors, blurs. "
            "Deeper layers' filters look at the maps before them."
        )
        layer_sections.filters(client, choice.path, info)
    elif shown == "maps":
        st.markdown(
            "Each filter produces one **feature map**: bright where its pattern occurs in the "
            "input. Early maps still look like the image; deeper ones are smaller and more "
            "abstract, because each unit there combines many earlier maps. Where the network "
            "splits into branches, each branch's maps are shown under its name, before the "
            "layer that joins them."
        )
        layer_sections.feature_maps(client, choice.path, info, maps)
        st.subheader("Explain one unit")
        st.markdown(
            "Each number of a feature map is a **unit**: its filter laid on one patch of the "
            "layer's input, every weight times the value under it, all added up with the bias, "
            "then the activation. Pick a unit and redo the arithmetic."
        )
        unit.explain_unit_section(client, choice.path, info, sample.image, maps)
    elif shown == "pooling":
        st.markdown(
            "**ReLU** keeps positive responses and sets negative ones to zero. **Max pooling** "
            "keeps the largest value of each small window, halving height and width for 2×2."
        )
        layer_sections.pooling(info, maps)
    elif shown == "field":
        st.markdown(
            "A unit in a deep layer depends on a window of the input — its **receptive field** — "
            "which grows with every convolution and pooling layer."
        )
        model_sections.receptive_field(info, sample, maps)
    elif shown == "saliency":
        st.markdown(
            "Which pixels made the network choose a class? **Saliency** differentiates the class "
            "score with respect to each pixel; **Grad-CAM** asks which regions of a conv layer's "
            "maps raise the score."
        )
        model_sections.attributions(client, choice.path, info, sample, maps, class_names)
    elif shown == "top":
        st.markdown(
            "Another way to see what a filter detects: search the test set for the images that "
            "make it respond most strongly."
        )
        real, made = st.columns([3, 2])  # the top 9 real images, and one made from noise
        with real:
            model_sections.top_examples(client, choice.path, info, test)
        with made:
            feature_visualisation(client, choice.path, info)
    elif shown == "summary":
        model_sections.summary(info, choice.metadata)
        mistakes.mistakes(client, choice.path, info, test, class_names)
    elif shown == "compare":
        st.markdown(
            "Put two models, or two epochs of one training run, side by side on this input; "
            "below, replay the training epoch by epoch."
        )
        compare.compare_and_replay(client, choice, info, sample, maps, class_names)
    else:
        st.markdown(
            "A change too small to notice can change the answer: move every pixel a little "
            "in the direction that raises the loss (an **adversarial example**)."
        )
        attack_section(client, choice.path, info, sample, maps, class_names)

LINK.finish()  # names linked picks this model lacks, and keeps the address current
