"""Train an LSTM classifier that reads each MNIST digit row by row (28 steps of 28 pixels),
on CUDA when usable, else on the CPU.

    python -m dynet.examples.sequential_mnist [--device auto|cpu|cuda|cuda:N]
        [--dataset sample|mnist|fashion-mnist] [--epochs 5] [--optimizer adam|sgd]
        [--hidden-size 128] [--num-layers 1] [--checkpoint FILE [--resume]]
        [--metrics-out F] [--plot F]

Options, progress bar, learning-rate schedule, checkpoints, metrics JSON and plot are the
LeNet script's (dynet.examples.lenet); only the model and the default optimizer differ.
"""
from dynet import nn
from dynet.examples import lenet


class RowLSTM(nn.Module):
    """LSTM over the 28 rows of a 28x28 image; a linear layer reads the last hidden state."""

    def __init__(self, hidden_size=128, num_layers=1, num_classes=10):
        super().__init__()
        self.lstm = nn.LSTM(28, hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        # (N, 1, 28, 28) images -> (N, 28 steps, 28 features)
        _, (h_n, _) = self.lstm(x.reshape(x.shape[0], 28, 28))
        return self.fc(h_n[-1])


def build_parser():
    p = lenet.build_parser(prog="python -m dynet.examples.sequential_mnist",
                           description=__doc__, lr_help="0.003 for adam, 0.1 for sgd")
    p.set_defaults(optimizer="adam")
    p.add_argument("--hidden-size", type=int, default=128, help="LSTM units (default 128)")
    p.add_argument("--num-layers", type=int, default=1, help="stacked LSTM layers (default 1)")
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.hidden_size < 1 or args.num_layers < 1:
        parser.error("--hidden-size and --num-layers must be positive")
    return lenet.main(argv, parser=parser,
                      model_fn=lambda a: RowLSTM(a.hidden_size, a.num_layers),
                      title=f"row-by-row LSTM ({args.hidden_size} units)",
                      default_lr={"sgd": 0.1, "adam": 3e-3})


if __name__ == "__main__":
    main()
