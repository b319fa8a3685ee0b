"""ui.room.qr: the join link, and a QR code an independent decoder (OpenCV) reads back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ui.room import qr


@pytest.mark.parametrize(
    "page_url, page, link",
    [
        ("http://127.0.0.1:8501/", "", "http://127.0.0.1:8501/?room=K7XQ3M"),
        (
            "http://127.0.0.1:8501/pooling?pool=2&room=X",
            "pooling",
            "http://127.0.0.1:8501/?room=K7XQ3M",
        ),
        (
            "https://uni.example/cnn/kernel_playground",
            "kernel_playground",
            "https://uni.example/cnn/?room=K7XQ3M",
        ),
        (
            "https://uni.example/pooling_notes",
            "pooling",
            "https://uni.example/pooling_notes/?room=K7XQ3M",
        ),
    ],
)
def test_join_link_points_at_the_apps_home(page_url, page, link):
    assert qr.join_link(page_url, page, "K7XQ3M") == link


def test_qr_code_reads_back_as_the_link():
    link = "http://192.168.1.20:8501/?room=K7XQ3M"
    png = qr.qr_png(link)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None and image.shape[0] == image.shape[1] >= 200
    image = cv2.copyMakeBorder(image, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert decoded == link
