"""A dependency-free progress bar: redraws in place on a terminal, plain lines otherwise."""
import sys
import time


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
        filled = int(self.width * self.count / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        loss_text = ""
        if loss is not None:
            value = loss() if callable(loss) else loss
            loss_text = f" loss {value:.4f}"
        return (f"{self.desc} [{bar}] {self.count}/{self.total}{loss_text} "
                f"{rate:,.0f} samples/s ETA {_clock(eta)}")

    def _draw(self, now, loss, end):
        text = self.line(loss)
        self.stream.write(("\r" + text + "\x1b[K" if self.interactive else text) + end)
        self.stream.flush()
        self._last_draw = now
