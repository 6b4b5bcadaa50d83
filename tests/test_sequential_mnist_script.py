"""The row-by-row LSTM example: shapes, a run of a few batches, resume, the shared CLI."""
import json

import pytest

import dynet
from dynet.examples import lenet
from dynet.examples import sequential_mnist as seq

TINY = ["--device", "cpu", "--subset", "96", "--batch-size", "32", "--hidden-size", "16"]


def test_model_reads_rows():
    model = seq.RowLSTM(hidden_size=8)
    assert model(dynet.randn(3, 1, 28, 28)).shape == (3, 10)
    assert model.lstm.input_size == 28 and model.lstm.batch_first
    assert [n for n, _ in model.named_parameters()] == [
        "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
        "fc.weight", "fc.bias"]


def test_a_few_batches_write_metrics_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    metrics_path, plot_path = tmp_path / "m.json", tmp_path / "p.png"
    metrics = seq.main(TINY + ["--epochs", "2", "--metrics-out", str(metrics_path),
                               "--plot", str(plot_path)])
    saved = json.loads(metrics_path.read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert [e["epoch"] for e in saved["epochs"]] == [1, 2]
    assert all(0.0 <= e["test_accuracy"] <= 1.0 and e["seconds"] > 0 for e in saved["epochs"])
    assert saved["epochs"][1]["train_loss"] < saved["epochs"][0]["train_loss"]
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_replays_the_uninterrupted_run(tmp_path, monkeypatch):
    ckpt = tmp_path / "runs" / "seq.ckpt"
    full = seq.main(TINY + ["--epochs", "3"])
    # the same 3-epoch run (same lr schedule), killed during its third epoch
    real, calls = lenet.train_one_epoch, []

    def dies_in_epoch_3(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)
    monkeypatch.setattr(lenet, "train_one_epoch", dies_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        seq.main(TINY + ["--epochs", "3", "--checkpoint", str(ckpt)])
    monkeypatch.setattr(lenet, "train_one_epoch", real)
    resumed = seq.main(TINY + ["--epochs", "3", "--checkpoint", str(ckpt), "--resume"])
    pick = lambda m: [(e["epoch"], e["train_loss"], e["test_accuracy"])  # noqa: E731
                      for e in m["epochs"]]
    assert pick(resumed) == pick(full)


def test_defaults():
    args = seq.build_parser().parse_args([])
    assert args.optimizer == "adam" and args.hidden_size == 128 and args.epochs == 5
    assert args.schedule == "cosine"


def test_bad_sizes_are_errors(capsys):
    with pytest.raises(SystemExit):
        seq.main(["--device", "cpu", "--hidden-size", "0"])
    assert "--hidden-size" in capsys.readouterr().err
