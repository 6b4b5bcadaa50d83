"""Train LeNet-5 on MNIST-family digits, on CUDA when usable, else on the CPU.

    python -m dynet.examples.lenet [--device auto|cpu|cuda|cuda:N] [--dataset sample|mnist|
        fashion-mnist] [--epochs 5] [--optimizer sgd|adam] [--schedule cosine|constant]
        [--checkpoint FILE [--resume]] [--metrics-out F] [--plot F]
    mpirun -n 2 python -m dynet.examples.lenet --distributed [...]

With --distributed each MPI rank trains a DistributedDataParallel replica on its share of
every epoch (DistributedSampler; --batch-size is per rank), over MPI on the CPU or NCCL on
CUDA (rank r uses cuda:LOCAL_RANK). Rank 0 alone prints, checkpoints and writes metrics; the
held-out accuracy counts the whole held-out set (each rank scores a slice, then all-reduce).

The same script is what a PyTorch user would write: only `import dynet` differs.
"""
import argparse
import io
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


def evaluate(model, loader, device, distributed=False):
    """Held-out accuracy; counts stay on the device and sync once at the end. Distributed,
    each rank's loader holds its slice and the counts are summed over the ranks."""
    model.eval()
    correct = dynet.zeros((), dtype=dynet.int64, device=device)
    total = 0
    with dynet.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            correct = correct + (model(x).argmax(dim=1) == y).sum()
            total += y.shape[0]
    model.train()
    counts = dynet.stack([correct, dynet.tensor(total, device=device)])
    if distributed:
        dynet.distributed.all_reduce(counts)
    correct, total = counts.tolist()
    return correct / max(total, 1)


def train_one_epoch(model, loader, optimizer, device, desc, distributed=False, show=True,
                    scheduler=None):
    """One pass over `loader`, stepping `scheduler` (if any) after every batch; returns
    (mean train loss, samples seen), over all ranks when distributed."""
    # each batch's loss stays a device tensor until the bar or the epoch needs the sum:
    # adding them up every step cost two tensor ops per step (~40 us on the CPU)
    losses, sizes = [], []
    seen = 0
    bar = progress_bar(len(loader), desc=desc, stream=None if show else io.StringIO())
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.detach())
        sizes.append(y.shape[0])
        seen += y.shape[0]
        # the running loss syncs with the device only when the bar is redrawn
        bar.update(1, y.shape[0], loss=lambda: loss_total(losses, sizes).item() / seen)
    bar.close()
    if distributed:
        totals = dynet.stack([loss_total(losses, sizes).double(),
                              dynet.tensor(float(seen), device=device, dtype=dynet.float64)])
        dynet.distributed.all_reduce(totals)
        total, seen = totals.tolist()
        return total / max(seen, 1), int(seen)
    return loss_total(losses, sizes).item() / max(seen, 1), seen


def loss_total(losses, sizes):
    """sum(batch mean loss * batch size) as a 0-d tensor on the losses' device."""
    if not losses:
        return dynet.zeros(())
    weights = dynet.tensor(sizes, dtype=losses[0].dtype, device=losses[0].device)
    return (dynet.stack(losses) * weights).sum()


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
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"],
                   help="sgd: Nesterov momentum 0.9 (default); adam")
    p.add_argument("--schedule", default="cosine", choices=["cosine", "constant"],
                   help="learning rate over the run: cosine decay to 0, stepped every batch "
                        "(default), or constant")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subset", type=int, default=None,
                   help="train on the first N training samples only (quick smoke runs)")
    p.add_argument("--checkpoint", default=None, help="checkpoint file, saved each epoch")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    p.add_argument("--metrics-out", default=None, help="write per-epoch metrics as JSON")
    p.add_argument("--plot", default=None, help="write loss/accuracy curves as a PNG")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over the MPI ranks: mpirun -n N python -m "
                        "dynet.examples.lenet --distributed")
    return p


def init_distributed(spec):
    """Joins the MPI world: NCCL on CUDA (this rank's GPU is cuda:LOCAL_RANK), else MPI.
    Returns (device spec, rank, world size)."""
    from dynet import distributed as dist
    cuda = spec.startswith("cuda") or (spec == "auto" and dynet.cuda.unavailable_reason()
                                       is None)
    dist.init_process_group(backend="nccl" if cuda else "mpi")
    if cuda and spec in ("auto", "cuda"):
        spec = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    elif not cuda and not (os.environ.get("DYNET_NUM_THREADS") or
                           os.environ.get("OMP_NUM_THREADS")):
        # the ranks on this machine share its cores (torchrun likewise sets 1 thread each)
        local = int(os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE", dist.get_world_size()))
        dynet.set_num_threads(max(1, dynet.get_num_threads() // local))
    return spec, dist.get_rank(), dist.get_world_size()


def main(argv=None, parser=None, model_fn=lambda args: LeNet5(), title="LeNet-5",
         default_lr=None):
    """Trains model_fn(args) as the options say (LeNet-5 by default); other examples pass
    their own parser, model, plot title and {optimizer: default lr}. Returns the metrics."""
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    spec = (model_fn, title, default_lr or {"sgd": 0.05, "adam": 1e-3})
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be positive")
    if args.resume and not args.checkpoint:
        parser.error("--resume needs --checkpoint FILE")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib: pip install 'dynet-autograd[plot]'")
    rank, world = 0, 1
    device_spec = args.device
    if args.distributed:
        device_spec, rank, world = init_distributed(args.device)
    try:
        return _train(args, parser, device_spec, rank, world, *spec)
    finally:
        if args.distributed:
            dynet.distributed.destroy_process_group()


def _train(args, parser, device_spec, rank, world, model_fn, title, default_lr):
    lead = rank == 0  # the rank that prints, checkpoints and writes files
    log = (lambda *a: print(*a, file=sys.stderr)) if lead else (lambda *a: None)
    try:
        device, message = resolve_device(device_spec)
    except (RuntimeError, TypeError) as e:
        parser.error(f"--device {device_spec}: {e}")
    if device.type == "cpu":
        message += f"; {dynet.get_num_threads()} CPU thread(s) (dynet.set_num_threads)"
    if world > 1 or args.distributed:
        message += f"; distributed: {world} rank(s), per-rank batch {args.batch_size}"
    log(message)

    train_set, test_set = load_datasets(args.dataset, args.data_dir, args.download)
    # the whole (small) dataset goes to the device once; batches are then sliced there
    x_train, y_train = train_set.as_tensors(normalize=True, device=device)
    x_test, y_test = test_set.as_tensors(normalize=True, device=device)
    if args.subset is not None:
        x_train, y_train = x_train[:args.subset], y_train[:args.subset]
    log(f"dataset: {args.dataset} ({len(y_train)} train / {len(y_test)} held-out)")

    dynet.manual_seed(args.seed)
    model = model_fn(args).to(device)
    net = model  # what the optimizer steps and the loop calls; the module itself is saved
    if args.distributed:
        net = nn.parallel.DistributedDataParallel(model)
    lr = args.lr if args.lr is not None else default_lr[args.optimizer]
    if args.optimizer == "sgd":
        # Nesterov momentum and the cosine schedule below took the bundled sample from
        # 95.95-97.1% to 97.7-98.1% held-out in 5 epochs (seeds 0-2, 1 and 2 threads;
        # bench/NOTES.md), at the same time per step
        optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    else:
        optimizer = optim.Adam(model.parameters(), lr=lr)

    shuffle_gen = dynet.Generator()
    train_set = TensorDataset(x_train, y_train)
    sampler = None
    if args.distributed:
        from dynet.utils.data import DistributedSampler
        sampler = DistributedSampler(train_set, shuffle=True, seed=args.seed)
        train_loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
        x_test, y_test = x_test[rank::world], y_test[rank::world]  # a slice per rank
    else:
        train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                                  generator=shuffle_gen)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=1000)
    scheduler = None
    if args.schedule == "cosine":
        scheduler = optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=args.epochs * len(train_loader))

    history, start_epoch = [], 0
    if args.checkpoint and not args.resume and lead:
        os.makedirs(os.path.dirname(os.path.abspath(args.checkpoint)), exist_ok=True)
    if args.resume:
        if not os.path.exists(args.checkpoint):
            parser.error(f"--resume: checkpoint {args.checkpoint!r} does not exist")
        state = dynet.load(args.checkpoint, map_location=device)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and "scheduler" in state:
            scheduler.load_state_dict(state["scheduler"])
        start_epoch, history = int(state["epoch"]), list(state["history"])
        log(f"resumed from {args.checkpoint} after epoch {start_epoch}")

    for epoch in range(start_epoch + 1, args.epochs + 1):
        # the shuffle order depends only on (seed, epoch), so a resumed run replays it
        shuffle_gen.manual_seed(args.seed * 100003 + epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        start = time.perf_counter()
        train_loss, seen = train_one_epoch(net, train_loader, optimizer, device,
                                           desc=f"epoch {epoch}/{args.epochs}",
                                           distributed=args.distributed, show=lead,
                                           scheduler=scheduler)
        accuracy = evaluate(model, test_loader, device, distributed=args.distributed)
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch, "train_loss": train_loss, "test_accuracy": accuracy,
                        "seconds": seconds, "samples_per_second": seen / seconds})
        log(f"epoch {epoch}/{args.epochs}: train loss {train_loss:.4f}, held-out accuracy "
            f"{100 * accuracy:.2f}%, {seconds:.1f} s")
        if args.checkpoint and lead:
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "epoch": epoch, "history": history}
            if scheduler is not None:
                state["scheduler"] = scheduler.state_dict()
            dynet.save(state, args.checkpoint)

    metrics = {"device": str(device), "dataset": args.dataset, "world_size": world,
               "epochs": history,
               "final_test_accuracy": history[-1]["test_accuracy"] if history else None}
    if args.metrics_out and lead:
        atomic_write_text(args.metrics_out, json.dumps(metrics, indent=2) + "\n")
    if args.plot and history and lead:
        save_plot(history, args.plot, f"{title} on {args.dataset} ({device})")
    return metrics


if __name__ == "__main__":
    main()
