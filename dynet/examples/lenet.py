"""Train LeNet-5 on MNIST-family digits, on CUDA when usable, else on the CPU.

    python -m dynet.examples.lenet [--device auto|cpu|cuda|cuda:N] [--dataset sample|mnist|
        fashion-mnist] [--epochs 5] [--checkpoint FILE [--resume]] [--metrics-out F] [--plot F]

The same script is what a PyTorch user would write: only `import dynet` differs.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import dynet
from dynet import nn, optim
from dynet.data import DataLoader, TensorDataset
from dynet.data.datasets import MNIST, FashionMNIST, MNISTSample
from dynet.utils.progress import progress_bar


class LeNet5(nn.Module):
    """Classic LeNet-5: conv5x5(pad 2)-ReLU-maxpool-conv5x5-ReLU-maxpool-120-84-10."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def resolve_device(spec):
    """(device, message): 'auto' picks cuda:0 when a kernel really runs there, else cpu."""
    if spec == "auto":
        reason = dynet.cuda.unavailable_reason()
        if reason is None:
            return dynet.device("cuda:0"), "device: cuda:0 (auto: CUDA is usable)"
        return dynet.device("cpu"), f"device: cpu (auto: no usable CUDA GPU: {reason})"
    device = dynet.device(spec)
    if device.type == "cuda":
        dynet.backend.cuda.require(device.index or 0)
        device = dynet.device(f"cuda:{device.index or 0}")
    return device, f"device: {device}"


def load_datasets(name, data_dir, download):
    """(train, test) datasets; 'sample' is the bundled 10,000 digits (8,000 / 2,000)."""
    if name == "sample":
        return MNISTSample(train=True), MNISTSample(train=False)
    cls = MNIST if name == "mnist" else FashionMNIST
    return (cls(data_dir, train=True, download=download),
            cls(data_dir, train=False, download=download))


def evaluate(model, loader, device):
    """Held-out accuracy; counts stay on the device and sync once at the end."""
    model.eval()
    correct = None
    total = 0
    with dynet.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            hits = (model(x).argmax(dim=1) == y).sum()
            correct = hits if correct is None else correct + hits
            total += y.shape[0]
    model.train()
    return correct.item() / max(total, 1)


def train_one_epoch(model, loader, optimizer, device, desc):
    """One pass over `loader`; returns (mean train loss, samples seen)."""
    loss_sum = None
    seen = 0
    bar = progress_bar(len(loader), desc=desc)
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        batch_loss = loss.detach() * y.shape[0]
        loss_sum = batch_loss if loss_sum is None else loss_sum + batch_loss
        seen += y.shape[0]
        # the running loss syncs with the device only when the bar is redrawn
        bar.update(1, y.shape[0], loss=lambda: loss_sum.item() / seen)
    bar.close()
    return loss_sum.item() / max(seen, 1), seen


def atomic_write_text(path, text):
    """Writes `text` to `path` via a temp file and rename, so a crash leaves no half file."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_plot(history, path, title):
    """A PNG with the train-loss and test-accuracy curves (matplotlib, Agg backend)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], marker="o")
    ax_loss.set(xlabel="epoch", ylabel="train loss", title="Training loss")
    ax_acc.plot(epochs, [100 * h["test_accuracy"] for h in history], marker="o",
                color="tab:green")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Held-out accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.set_xticks(epochs)
    fig.suptitle(title)
    fig.tight_layout()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=110)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


def build_parser(prog="python -m dynet.examples.lenet", description=__doc__,
                 lr_help="0.05 for sgd, 0.001 for adam"):
    """The training CLI; other example scripts reuse it with their own prog and text."""
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto)")
    p.add_argument("--dataset", default="sample", choices=["sample", "mnist", "fashion-mnist"],
                   help="sample = the bundled 10,000 MNIST digits (default)")
    p.add_argument("--data-dir", default="data", help="root of the MNIST/FashionMNIST files")
    p.add_argument("--download", action="store_true",
                   help="download the dataset into --data-dir when missing")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=None,
                   help=f"learning rate (default {lr_help})")
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subset", type=int, default=None,
                   help="train on the first N training samples only (quick smoke runs)")
    p.add_argument("--checkpoint", default=None, help="checkpoint file, saved each epoch")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--metrics-out", default=None, help="write per-epoch metrics as JSON")
    p.add_argument("--plot", default=None, help="write loss/accuracy curves as a PNG")
    return p


def main(argv=None):
    parser = build_parser()
    return run(parser.parse_args(argv), parser, LeNet5, title="LeNet-5",
               default_lr={"sgd": 0.05, "adam": 1e-3})


def run(args, parser, model_fn, title, default_lr, lr_factor=None):
    """Trains model_fn() as the parsed options say: device, data, optimizer (default_lr
    per optimizer unless --lr), checkpoints/resume, metrics JSON and plot. Returns the
    metrics dict. `lr_factor(epoch, epochs)`, if given, scales the learning rate of each
    (1-based) epoch; it depends on the epoch number only, so a resumed run replays it."""
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be positive")
    if args.resume and not args.checkpoint:
        parser.error("--resume needs --checkpoint FILE")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib: pip install 'dynet-autograd[plot]'")
    try:
        device, message = resolve_device(args.device)
    except (RuntimeError, TypeError) as e:
        parser.error(f"--device {args.device}: {e}")
    if device.type == "cpu":
        message += f"; {dynet.get_num_threads()} CPU thread(s) (dynet.set_num_threads)"
    print(message, file=sys.stderr)

    train_set, test_set = load_datasets(args.dataset, args.data_dir, args.download)
    # the whole (small) dataset goes to the device once; batches are then sliced there
    x_train, y_train = train_set.as_tensors(normalize=True, device=device)
    x_test, y_test = test_set.as_tensors(normalize=True, device=device)
    if args.subset is not None:
        x_train, y_train = x_train[:args.subset], y_train[:args.subset]
    print(f"dataset: {args.dataset} ({len(y_train)} train / {len(y_test)} held-out)",
          file=sys.stderr)

    dynet.manual_seed(args.seed)
    model = model_fn().to(device)
    lr = args.lr if args.lr is not None else default_lr[args.optimizer]
    if args.optimizer == "sgd":
        optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    else:
        optimizer = optim.Adam(model.parameters(), lr=lr)

    shuffle_gen = dynet.Generator()
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                              shuffle=True, generator=shuffle_gen)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=1000)

    history, start_epoch = [], 0
    if args.checkpoint and not args.resume:
        os.makedirs(os.path.dirname(os.path.abspath(args.checkpoint)), exist_ok=True)
    if args.resume:
        if not os.path.exists(args.checkpoint):
            parser.error(f"--resume: checkpoint {args.checkpoint!r} does not exist")
        state = dynet.load(args.checkpoint, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, history = int(state["epoch"]), list(state["history"])
        print(f"resumed from {args.checkpoint} after epoch {start_epoch}", file=sys.stderr)

    for epoch in range(start_epoch + 1, args.epochs + 1):
        # the shuffle order depends only on (seed, epoch), so a resumed run replays it
        shuffle_gen.manual_seed(args.seed * 100003 + epoch)
        if lr_factor is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr * lr_factor(epoch, args.epochs)
        start = time.perf_counter()
        train_loss, seen = train_one_epoch(model, train_loader, optimizer, device,
                                           desc=f"epoch {epoch}/{args.epochs}")
        accuracy = evaluate(model, test_loader, device)
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch, "train_loss": train_loss, "test_accuracy": accuracy,
                        "seconds": seconds, "samples_per_second": seen / seconds})
        print(f"epoch {epoch}/{args.epochs}: train loss {train_loss:.4f}, held-out accuracy "
              f"{100 * accuracy:.2f}%, {seconds:.1f} s", file=sys.stderr)
        if args.checkpoint:
            dynet.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "epoch": epoch, "history": history}, args.checkpoint)

    metrics = {"device": str(device), "dataset": args.dataset, "epochs": history,
               "final_test_accuracy": history[-1]["test_accuracy"] if history else None}
    if args.metrics_out:
        atomic_write_text(args.metrics_out, json.dumps(metrics, indent=2) + "\n")
    if args.plot and history:
        save_plot(history, args.plot, f"{title} on {args.dataset} ({device})")
    return metrics


if __name__ == "__main__":
    main()
