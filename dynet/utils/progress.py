"""Progress bars for the scripts: tqdm when it is installed, else a dependency-free bar.

`progress_bar(total, desc)` gives either; both take `update(batches, samples, loss)` and
`close()`. The fallback redraws in place on a terminal, never wider than the terminal (at
most 80 columns) so it does not wrap, and writes plain lines about every 25% otherwise.
"""
import os
import shutil
import sys
import time

MAX_COLUMNS = 80


def _rate(per_second):
    """12, 950, 1.2k, 12.3k, 123k, 1.2M, ...: at most five characters."""
    value = float(per_second)
    for unit in ("", "k", "M", "G", "T"):
        if value < 999.5 or unit == "T":
            if not unit:
                return f"{value:.0f}"
            return f"{value:.1f}{unit}" if value < 99.95 else f"{value:.0f}{unit}"
        value /= 1000
    return f"{value:.0f}T"  # pragma: no cover


def _columns(stream):
    """Columns the line may use: the terminal's width (at most 80), minus one so the cursor
    never reaches the last column (some terminals wrap there)."""
    cols = MAX_COLUMNS
    try:
        cols = min(cols, os.get_terminal_size(stream.fileno()).columns)
    except (AttributeError, OSError, ValueError):
        cols = min(cols, shutil.get_terminal_size((MAX_COLUMNS, 24)).columns)
    return max(cols - 1, 20)


def _clock(seconds):
    seconds = int(max(seconds, 0))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class ProgressBar:
    """Per-epoch progress: batches done, running loss, samples/s and ETA.

    On a terminal the line is redrawn at most `refresh` times a second; when the output is
    a file or a pipe (CI logs), a plain line is written about every 25% instead.
    """

    def __init__(self, total, desc="", stream=None, width=24, refresh=10.0):
        self.total = max(int(total), 1)
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.min_interval = 1.0 / refresh
        self.start = time.perf_counter()
        self.count = 0
        self.samples = 0
        self._last_draw = 0.0
        self._next_plain = 0.25

    def update(self, batches=1, samples=0, loss=None):
        """Advances by `batches`; `loss` (a float or a callable giving one) is shown if drawn.

        A callable lets the caller skip the host sync (`.item()`) when nothing is drawn.
        """
        self.count += batches
        self.samples += samples
        now = time.perf_counter()
        done = self.count >= self.total
        if self.interactive:
            if done or now - self._last_draw >= self.min_interval:
                self._draw(now, loss, end="")
        elif done or self.count / self.total >= self._next_plain:
            self._next_plain = (int(self.count / self.total * 4) + 1) / 4
            self._draw(now, loss, end="\n")

    def close(self, summary=None):
        """Ends the bar; `summary` replaces the last line's tail when given."""
        if self.interactive:
            self.stream.write("\n")
        if summary:
            self.stream.write(f"{self.desc} {summary}\n")
        self.stream.flush()

    def line(self, loss=None):
        elapsed = time.perf_counter() - self.start
        rate = self.samples / elapsed if elapsed > 0 else 0.0
        per_batch = elapsed / self.count if self.count else 0.0
        eta = per_batch * (self.total - self.count)
        loss_text = ""
        if loss is not None:
            value = loss() if callable(loss) else loss
            loss_text = f" loss {value:.4f}"
        head = f"{self.desc} " if self.desc else ""
        tail = (f" {self.count}/{self.total}{loss_text} {_rate(rate)} samples/s "
                f"ETA {_clock(eta)}")
        # the bar shrinks (down to nothing) so that the whole line fits the terminal
        width = min(self.width, _columns(self.stream) - len(head) - len(tail) - 2)
        if width < 4:
            return (head + tail.lstrip())[:_columns(self.stream)]
        filled = int(width * self.count / self.total)
        return f"{head}[{'#' * filled}{'.' * (width - filled)}]{tail}"

    def _draw(self, now, loss, end):
        text = self.line(loss)
        self.stream.write(("\r" + text + "\x1b[K" if self.interactive else text) + end)
        self.stream.flush()
        self._last_draw = now


class TqdmBar:
    """The same interface over tqdm: batches as its unit, loss and samples/s as postfix.

    The (possibly syncing) loss callable is read only when tqdm is about to redraw.
    """

    def __init__(self, total, desc="", stream=None):
        from tqdm import tqdm
        stream = stream if stream is not None else sys.stderr
        self.bar = tqdm(total=max(int(total), 1), desc=desc, file=stream, unit="batch",
                        leave=True, dynamic_ncols=True, mininterval=0.1)
        self.samples = 0
        self.desc = desc
        self.stream = stream

    def update(self, batches=1, samples=0, loss=None):
        bar = self.bar
        self.samples += samples
        done = bar.n + batches >= bar.total
        due = (time.time() - bar.last_print_t >= bar.mininterval
               and bar.n + batches - bar.last_print_n >= (bar.miniters or 1))
        if (due or done) and (loss is not None or samples):
            elapsed = bar.format_dict.get("elapsed", 0.0) or 1e-9
            parts = []
            if loss is not None:
                parts.append(f"loss {(loss() if callable(loss) else loss):.4f}")
            if self.samples:
                parts.append(f"{_rate(self.samples / elapsed)} samples/s")
            bar.set_postfix_str(", ".join(parts), refresh=False)
        bar.update(batches)

    def close(self, summary=None):
        self.bar.close()
        if summary:
            self.stream.write(f"{self.desc} {summary}\n")
        self.stream.flush()


def progress_bar(total, desc="", stream=None):
    """A TqdmBar on a terminal when tqdm is installed (and DYNET_NO_TQDM is unset), else a
    ProgressBar. Off a terminal (CI logs, files) the fallback's plain line every 25% reads
    better than tqdm, which joins all its redraws into one line with carriage returns."""
    stream = stream if stream is not None else sys.stderr
    interactive = bool(getattr(stream, "isatty", lambda: False)())
    if interactive and not os.environ.get("DYNET_NO_TQDM"):
        try:
            import tqdm  # noqa: F401
        except ImportError:
            pass
        else:
            return TqdmBar(total, desc=desc, stream=stream)
    return ProgressBar(total, desc=desc, stream=stream)
