"""Home: what ConvScope is and what each page teaches, with a live thumbnail for each."""

import streamlit as st

from core.imaging.thumbnails import THUMBNAILS
from ui.architectures.thumbnail import architecture_thumbnail
from ui.backpropagation.thumbnail import backpropagation_thumbnail
from ui.home.cards import CARD_CSS, card_html
from ui.widgets.page_link import PageLink

LINK = PageLink("home", [])  # no state of its own: any parameter is named as unknown

# The Backpropagation card brings its own picture (core.imaging.thumbnails has none yet).
THUMBNAILS = {**THUMBNAILS, "backpropagation": backpropagation_thumbnail}
# The Famous Architectures card draws a residual block the way its page does.
THUMBNAILS = {**THUMBNAILS, "architectures": architecture_thumbnail}

TOPICS = [
    (
        "Foundations",
        [
            (
                "pixels_channels",
                "Pixels & Channels",
                "A photo is just a grid of numbers. Zoom in until you can read them, split a "
                "colour image into its red, green and blue layers, and see how histogram "
                "equalisation spreads out the brightness levels.",
            ),
            (
                "kernel_playground",
                "Kernel Playground",
                "Edit a small kernel and watch it blur, sharpen or find edges in a real photo. "
                "Step through the multiply-and-add behind any output pixel, and compare "
                "correlation with true convolution.",
            ),
            (
                "convolution_arithmetic",
                "Convolution Arithmetic",
                "How big is the output? Slide a window over a small matrix one step at a time and "
                "see how kernel size, stride, padding and dilation decide the answer — including "
                "transposed convolution.",
            ),
            (
                "pooling",
                "Pooling",
                "Shrink a feature map by keeping the largest (or average) value of each window, "
                "see where the gradient goes in backpropagation, and why small shifts barely "
                "matter.",
            ),
            (
                "backpropagation",
                "Backpropagation",
                "Follow the gradient back through a convolution layer: to each weight, the bias "
                "and the input, one window at a time. See why the input gradient is a transposed "
                "convolution, then take a step of gradient descent.",
            ),
        ],
    ),
    (
        "Networks",
        [
            (
                "train_cnn",
                "Train a CNN",
                "Pick a data set and an architecture and train it live: loss curves, accuracy and "
                "first-layer filters that turn from noise into edge detectors as you watch.",
            ),
            (
                "inspect_network",
                "Inspect a Network",
                "Look inside a trained model: its filters, the feature maps an image produces "
                "layer by layer, what pooling keeps, and which pixels drove the prediction.",
            ),
            (
                "architectures",
                "Famous Architectures",
                "LeNet-5, AlexNet, VGG16, GoogLeNet and ResNet drawn layer by layer, shortcuts "
                "and branches included, with their exact parameter counts. The small ones "
                "train in one click.",
            ),
        ],
    ),
]


@st.cache_data(show_spinner=False)
def card(key: str, title: str, text: str) -> str:
    """A card's HTML with its live thumbnail, made once per server."""
    return card_html(title, text, THUMBNAILS[key]())


st.title("ConvScope")
LINK.start()
st.markdown(
    "**An interactive explorer for convolutional neural networks**: from a single pixel to a "
    "trained network, on real photos and real data sets. Everything runs on this machine, "
    "offline. Choose a page below or in the sidebar."
)
st.html(CARD_CSS)  # sent alone: Streamlit keeps a style in the page's event area, taking no room

for section, topics in TOPICS:
    st.header(section, divider="gray")
    columns = st.columns(2, gap="large")
    for index, (key, title, text) in enumerate(topics):
        with columns[index % 2], st.container(border=True):
            st.html(card(key, title, text))
            st.page_link(
                f"app_pages/{key}.py", label=f"Open {title}", icon=":material/arrow_forward:"
            )
