"""ProgressBar: plain lines off a terminal, in-place redraws on one; utils.data aliases."""
import io

import dynet
from dynet.utils import ProgressBar


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_plain_output_writes_a_few_full_lines():
    out = io.StringIO()
    bar = ProgressBar(8, desc="epoch 1/1", stream=out)
    for _ in range(8):
        bar.update(1, samples=64, loss=0.5)
    bar.close()
    lines = out.getvalue().splitlines()
    assert 1 <= len(lines) <= 5  # about every 25%, never one line per batch
    assert "\r" not in out.getvalue()
    assert lines[-1].startswith("epoch 1/1 [") and "8/8" in lines[-1]
    assert "loss 0.5000" in lines[-1] and "samples/s" in lines[-1] and "ETA" in lines[-1]


def test_terminal_output_redraws_in_place_and_loss_callable_is_lazy():
    out = FakeTTY()
    calls = []
    bar = ProgressBar(100, desc="e", stream=out, refresh=1e-9)

    def loss():
        calls.append(1)
        return 1.25

    for _ in range(100):
        bar.update(1, samples=1, loss=loss)
    bar.close()
    text = out.getvalue()
    assert text.count("\r") == len(calls) and text.endswith("\n")
    assert "100/100" in text and "loss 1.2500" in text

    quiet = FakeTTY()
    lazy = ProgressBar(100, stream=quiet, refresh=1e-6)  # redraws at most once a 1e6 s
    calls.clear()
    for _ in range(99):
        lazy.update(1, loss=loss)
    assert len(calls) <= 1  # the (syncing) loss is only read when something is drawn


def test_utils_data_mirrors_torch_utils_data():
    assert dynet.utils.data.DataLoader is dynet.data.DataLoader
    assert dynet.utils.data.TensorDataset is dynet.data.TensorDataset
