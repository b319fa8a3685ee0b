"""The numeric core stays light: no TensorFlow, no Streamlit (checked in a fresh interpreter)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

LIGHT_MODULES = ["core.convolution", "core.pooling", "core.kernels", "core.images"]


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_core_module_imports_without_tensorflow_or_streamlit(module):
    code = (
        f"import sys, json; import {module}; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('tensorflow', 'keras', 'streamlit'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
