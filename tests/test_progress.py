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


def test_fallback_bar_fits_80_columns_with_big_counts_and_speeds(monkeypatch):
    from dynet.utils import progress
    monkeypatch.setattr(progress.shutil, "get_terminal_size", lambda fallback: os_size(200))
    out = FakeTTY()
    bar = ProgressBar(12345, desc="epoch 10/10", stream=out, refresh=1e9)
    bar.samples = 10 ** 12  # absurd speeds still give a short rate
    for _ in range(12345 // 100):
        bar.update(100, samples=64, loss=123.456789)
    bar.close()
    frames = [f.replace("\x1b[K", "").rstrip("\n") for f in out.getvalue().split("\r")]
    frames = [f for f in frames if f]
    assert frames and max(len(f) for f in frames) <= 79
    assert out.getvalue().count("\n") == 1  # redraws in place, one newline at the end
    assert "12300/12345" in frames[-1] and "samples/s" in frames[-1]
    monkeypatch.setattr(progress.shutil, "get_terminal_size", lambda fallback: os_size(50))
    narrow = FakeTTY()
    small = ProgressBar(999, desc="epoch 1/5", stream=narrow, refresh=1e9)
    small.update(500, samples=10 ** 6, loss=0.5)
    assert max(len(f.replace("\x1b[K", "")) for f in narrow.getvalue().split("\r")) <= 49


def os_size(cols):
    import os
    return os.terminal_size((cols, 24))


def test_rate_is_short():
    from dynet.utils.progress import _rate
    assert [_rate(v) for v in (12, 999, 1234, 99_960, 123_456, 1.5e6, 3e15)] == \
        ["12", "999", "1.2k", "100k", "123k", "1.5M", "3000T"]


def test_progress_bar_uses_tqdm_on_a_terminal_and_the_fallback_elsewhere(monkeypatch):
    from dynet.utils import progress
    assert isinstance(progress.progress_bar(3, stream=io.StringIO()), ProgressBar)
    try:
        import tqdm  # noqa: F401
    except ImportError:
        monkeypatch.setenv("DYNET_NO_TQDM", "1")
        assert isinstance(progress.progress_bar(3, stream=FakeTTY()), ProgressBar)
        return
    out = FakeTTY()
    bar = progress.progress_bar(4, desc="epoch 1/1", stream=out)
    assert isinstance(bar, progress.TqdmBar)
    calls = []
    for _ in range(4):
        bar.update(1, samples=8, loss=lambda: calls.append(1) or 0.25)
    bar.close()
    text = out.getvalue()
    assert "epoch 1/1" in text and "4/4" in text and "loss 0.2500" in text
    assert 1 <= len(calls) <= 4
    monkeypatch.setenv("DYNET_NO_TQDM", "1")
    assert isinstance(progress.progress_bar(3, stream=FakeTTY()), ProgressBar)
