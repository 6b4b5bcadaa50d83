"""The LeNet training script's CLI: a tiny run, determinism, kill-and-resume, errors."""
import json

import pytest

import dynet
from dynet.examples import lenet

nn = pytest.importorskip("dynet.nn")

TINY = ["--device", "cpu", "--subset", "512", "--batch-size", "64"]


def run(tmp_path, *extra):
    return lenet.main(TINY + list(extra))


def test_model_shapes():
    model = lenet.LeNet5()
    out = model(dynet.randn(2, 1, 28, 28))
    assert out.shape == (2, 10)
    assert sum(p.numel() for p in model.parameters()) == 61706


def test_tiny_run_writes_metrics_and_plot(tmp_path):
    metrics_path = tmp_path / "m.json"
    plot_path = tmp_path / "curves.png"
    pytest.importorskip("matplotlib")
    metrics = lenet.main(["--device", "cpu", "--subset", "2048", "--epochs", "2",
                          "--metrics-out", str(metrics_path), "--plot", str(plot_path)])
    saved = json.loads(metrics_path.read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert saved["device"] == "cpu" and saved["dataset"] == "sample"
    assert [e["epoch"] for e in saved["epochs"]] == [1, 2]
    for e in saved["epochs"]:
        assert set(e) == {"epoch", "train_loss", "test_accuracy", "seconds",
                          "samples_per_second"}
        assert 0.0 <= e["test_accuracy"] <= 1.0 and e["seconds"] > 0
    # learning happened: the second epoch's loss is lower and accuracy beats chance
    assert saved["epochs"][1]["train_loss"] < saved["epochs"][0]["train_loss"]
    assert saved["final_test_accuracy"] > 0.5
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_seed_same_metrics(tmp_path):
    a = run(tmp_path, "--epochs", "1", "--seed", "3")
    b = run(tmp_path, "--epochs", "1", "--seed", "3")
    strip = lambda m: [(e["train_loss"], e["test_accuracy"]) for e in m["epochs"]]  # noqa: E731
    assert strip(a) == strip(b)


def test_kill_and_resume_matches_uninterrupted_run(tmp_path, monkeypatch):
    ckpt = tmp_path / "runs" / "lenet.ckpt"  # the script creates missing folders
    full = run(tmp_path, "--epochs", "3")
    # killed during epoch 3 of the same 3-epoch run (its lr schedule spans all 3 epochs)
    calls = []
    real_evaluate = lenet.evaluate

    def evaluate_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_evaluate(*args, **kwargs)
    monkeypatch.setattr(lenet, "evaluate", evaluate_then_die)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, "--epochs", "3", "--checkpoint", str(ckpt))
    monkeypatch.setattr(lenet, "evaluate", real_evaluate)
    assert dynet.load(str(ckpt))["epoch"] == 2
    resumed = run(tmp_path, "--epochs", "3", "--checkpoint", str(ckpt), "--resume")
    pick = lambda m: [(e["epoch"], e["train_loss"], e["test_accuracy"])  # noqa: E731
                      for e in m["epochs"]]
    assert pick(resumed) == pick(full)
    assert resumed["final_test_accuracy"] == full["final_test_accuracy"]


@pytest.mark.skipif(dynet.cuda.is_available(), reason="needs a machine without CUDA")
def test_explicit_cuda_without_gpu_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as exc:
        lenet.main(["--device", "cuda", "--epochs", "1"])
    assert exc.value.code == 2
    assert "CUDA" in capsys.readouterr().err


def test_resume_without_checkpoint_is_an_error(capsys):
    with pytest.raises(SystemExit):
        lenet.main(["--device", "cpu", "--resume"])
    assert "--checkpoint" in capsys.readouterr().err


def test_auto_device_falls_back_to_cpu_with_a_message():
    device, message = lenet.resolve_device("auto")
    if dynet.cuda.is_available():
        assert device.type == "cuda"
    else:
        assert device == "cpu" and "no usable CUDA" in message


def test_default_recipe_nesterov_and_cosine_decay_to_zero(tmp_path):
    # the recipe behind >= 97.5% held-out in 5 epochs (bench/NOTES.md): SGD with Nesterov
    # momentum, lr 0.05 decayed along a cosine to 0 over every batch of the run
    ckpt = tmp_path / "lenet.ckpt"
    run(tmp_path, "--epochs", "2", "--checkpoint", str(ckpt))
    state = dynet.load(str(ckpt))
    group = state["optimizer"]["param_groups"][0]
    assert group["nesterov"] and group["momentum"] == 0.9 and group["initial_lr"] == 0.05
    assert group["lr"] == pytest.approx(0.0, abs=1e-12)  # 2 epochs x 8 batches done
    assert state["scheduler"]["T_max"] == 16 and state["scheduler"]["last_epoch"] == 16
    run(tmp_path, "--epochs", "1", "--schedule", "constant", "--checkpoint", str(ckpt))
    group = dynet.load(str(ckpt))["optimizer"]["param_groups"][0]
    assert group["lr"] == 0.05 and "scheduler" not in dynet.load(str(ckpt))
