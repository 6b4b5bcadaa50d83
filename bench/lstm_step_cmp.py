"""LSTM train step (2 layers, 256 units, seq 32, batch 64), dynet vs torch, interleaved:
    NT=1 OPENBLAS_NUM_THREADS=1 python bench/lstm_step_cmp.py <repo root> [repeats]
NT sets both frameworks' thread count (default 2)."""
import sys, time, numpy as np
sys.path.insert(0, sys.argv[1])
import torch, dynet
torch.set_num_threads(int(__import__("os").environ.get("NT", "2"))); dynet.set_num_threads(int(__import__("os").environ.get("NT", "2")))

def build(fw):
    class M(fw.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = fw.nn.LSTM(256, 256, num_layers=2, batch_first=True)
            self.fc = fw.nn.Linear(256, 10)
        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out[:, -1])
    return M()

rng = np.random.default_rng(0)
x_np = rng.standard_normal((64, 32, 256), dtype=np.float32)
y_np = rng.integers(0, 10, 64)
def setup(fw, tens):
    m = build(fw); opt = fw.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    x, y = tens(x_np), tens(y_np)
    lf = fw.nn.CrossEntropyLoss()
    def step():
        opt.zero_grad(); l = lf(m(x), y); l.backward(); opt.step()
    return step
steps = {"torch": setup(torch, torch.from_numpy), "dynet": setup(dynet, dynet.tensor)}
res = {k: [] for k in steps}
for rep in range(int(sys.argv[2]) if len(sys.argv) > 2 else 5):
    for k, s in steps.items():
        time.sleep(0.25); s()
        t = time.perf_counter(); n = 0
        while time.perf_counter() - t < 0.5:
            s(); n += 1
        res[k].append((time.perf_counter() - t) / n * 1e3)
for k, v in res.items():
    print(k, "median ms/step %.1f" % np.median(v), ["%.1f" % a for a in v])
print("ratio", np.median(res["dynet"]) / np.median(res["torch"]))
