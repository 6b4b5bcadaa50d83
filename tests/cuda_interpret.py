"""Runs dynet's CuPy ElementwiseKernel definitions on the CPU, element by element, on NumPy.

Used by tests/test_cuda_interpret.py to run the CUDA branches' Python side (the launchers in
dynet/backend/kernels) without a GPU: `elementwise_kernel(name, in_params, out_params, body)`
returns a callable with CuPy's calling convention, so the launcher's argument order, arity,
scalar and array dtypes and output shapes are checked as CuPy would check them, and the C
body runs for every index i, translated to Python by a small translator for the C subset
the kernels use (declarations, for/if/while, continue/break/return, ?:, casts, the usual
operators, sqrt/exp/... calls). C semantics that hide index bugs are kept: `/` and `%` of
integers truncate toward zero, a raw array read or write outside the array raises (C would
read garbage), a read of an uninitialised local raises, `1.0` is a double and `1.0f` a float,
and assigning to a typed variable casts (float32 stays float32).

What it proves: the body computes, for the arguments the launcher really passes, the values
the NumPy path computes (index arithmetic, flag-specialised bodies, argument order, dtypes).
What it cannot prove: that NVRTC compiles the source (tests/test_cuda_compile.py does), how
CuPy itself broadcasts and casts beyond what is emulated here, int32 overflow at sizes far
beyond a test's, float contraction (FMA) and libm rounding on the GPU, memory, streams,
multiple devices, races between raw writes, and speed.
"""
import re

import numpy as np

_TOKEN = re.compile(r"""\s*(?:
    (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<num>(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?[fF]?|\d+[eE][-+]?\d+[fF]?|0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*)
  | (?P<name>[A-Za-z_]\w*)
  | (?P<op><<=|>>=|\+\+|--|&&|\|\||==|!=|<=|>=|<<|>>|\+=|-=|\*=|/=|%=|&=|\|=|\^=|[-+*/%<>=!&|^~?:;,.(){}\[\]])
)""", re.S | re.X)

_INT_WORDS = {"int", "long", "short", "unsigned", "signed", "char", "size_t", "ptrdiff_t"}
_FLOAT_TYPES = {"float": np.float32, "double": np.float64}
_DTYPE_NAMES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                "uint64", "float16", "float32", "float64"}
_FUNCS = {"sqrt": "np.sqrt", "exp": "np.exp", "log": "np.log", "tanh": "np.tanh",
          "fabs": "np.abs", "abs": "np.abs", "isnan": "np.isnan", "isinf": "np.isinf",
          "pow": "np.power", "floor": "np.floor", "ceil": "np.ceil", "max": "_max",
          "min": "_min", "fmax": "np.fmax", "fmin": "np.fmin", "log1p": "np.log1p",
          "expm1": "np.expm1", "sin": "np.sin", "cos": "np.cos", "erf": "_erf"}
_BINARY = {"||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, "<=": 7,
           ">": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10}
_ASSIGN = {"=", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "|=", "^="}


class KernelError(AssertionError):
    """A kernel that CuPy would reject or that does something undefined in C."""


# ---------------------------------------------------------------- runtime helpers

def _integral(v):
    return isinstance(v, (int, bool, np.integer, np.bool_))


def _div(a, b):
    if _integral(a) and _integral(b):
        a, b = int(a), int(b)
        if b == 0:
            raise KernelError("integer division by zero in a kernel body")
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q
    return a / b


def _mod(a, b):
    if not (_integral(a) and _integral(b)):
        raise KernelError("% of a floating-point value does not compile in C")
    a, b = int(a), int(b)
    if b == 0:
        raise KernelError("integer % by zero in a kernel body")
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _max(a, b):
    return a if a > b else b


def _min(a, b):
    return a if a < b else b


def _erf(v):
    import math
    return type(v)(math.erf(v)) if isinstance(v, np.floating) else math.erf(v)


class _Raw:
    """A raw parameter: x[j] is the j-th element in C order, bounds-checked."""

    def __init__(self, name, array):
        self.name, self.array = name, array

    def _where(self, j):
        if not _integral(j):
            raise KernelError(f"raw {self.name}[...] indexed with a non-integer {j!r}")
        j = int(j)
        if not 0 <= j < self.array.size:
            raise KernelError(f"raw {self.name}[{j}] is out of bounds for its "
                              f"{self.array.size} elements (shape {self.array.shape})")
        return np.unravel_index(j, self.array.shape)

    def __getitem__(self, j):
        return self.array[self._where(j)]

    def __setitem__(self, j, v):
        self.array[self._where(j)] = v


def _caster(words, typevars):
    """The Python cast for a C type spelled by `words` (typevars: placeholder -> dtype)."""
    words = [w for w in words if w != "const"]
    if len(words) == 1 and words[0] in typevars:
        return typevars[words[0]].type
    if len(words) == 1 and words[0] in _FLOAT_TYPES:
        return _FLOAT_TYPES[words[0]]
    if words == ["bool"]:
        return bool
    if words and all(w in _INT_WORDS for w in words):
        return _to_int
    raise KernelError(f"unsupported C type {' '.join(words)!r}")


def _to_int(v):
    if v is None:
        raise KernelError("read of an uninitialised variable")
    return int(v)  # truncates toward zero, as a C conversion does


# ---------------------------------------------------------------- C to Python

class _Translator:
    def __init__(self, source, params, typevars):
        self.toks = []
        pos = 0
        source = source.strip()
        while pos < len(source):
            m = _TOKEN.match(source, pos)
            if m is None or m.end() == pos:
                raise KernelError(f"cannot tokenize the body at {source[pos:pos + 20]!r}")
            pos = m.end()
            if m.group("comment") is None:
                kind = m.lastgroup
                self.toks.append((kind, m.group(kind)))
        self.pos = 0
        self.params = params  # name -> (kind 'in'/'out'/'raw', type words)
        self.typevars = typevars
        self.types = {name: spec[1] for name, spec in params.items()}
        self.lines = []

    # tokens
    def peek(self, k=0):
        i = self.pos + k
        return self.toks[i][1] if i < len(self.toks) else None

    def take(self, expected=None):
        if self.pos >= len(self.toks):
            raise KernelError(f"body ends early (expected {expected!r})")
        tok = self.toks[self.pos][1]
        if expected is not None and tok != expected:
            raise KernelError(f"expected {expected!r}, got {tok!r}")
        self.pos += 1
        return tok

    def is_type_word(self, tok):
        return tok in _INT_WORDS or tok in _FLOAT_TYPES or tok in ("const", "bool") \
            or tok in self.typevars

    # expressions
    def expr(self):
        cond = self.binary(1)
        if self.peek() == "?":
            self.take("?")
            a = self.expr()
            self.take(":")
            b = self.expr()
            return f"({a} if {cond} else {b})"
        return cond

    def binary(self, level):
        left = self.unary()
        while self.peek() in _BINARY and _BINARY[self.peek()] >= level:
            op = self.take()
            right = self.binary(_BINARY[op] + 1)
            if op == "/":
                left = f"_div({left}, {right})"
            elif op == "%":
                left = f"_mod({left}, {right})"
            elif op == "&&":
                left = f"(bool({left}) and bool({right}))"
            elif op == "||":
                left = f"(bool({left}) or bool({right}))"
            else:
                left = f"({left} {op} {right})"
        return left

    def unary(self):
        tok = self.peek()
        if tok in ("-", "+", "~"):
            self.take()
            return f"({tok}{self.unary()})"
        if tok == "!":
            self.take()
            return f"(not {self.unary()})"
        if tok in ("++", "--"):
            raise KernelError("++/-- inside an expression is not supported")
        if tok == "(" and self.is_type_word(self.peek(1)):
            self.take("(")
            words = []
            while self.peek() != ")":
                words.append(self.take())
            self.take(")")
            return f"_cast({words!r})({self.unary()})"
        return self.postfix()

    def postfix(self):
        kind, tok = self.toks[self.pos] if self.pos < len(self.toks) else (None, None)
        if tok == "(":
            self.take("(")
            inner = self.expr()
            self.take(")")
            return f"({inner})"
        if kind == "num":
            self.take()
            return self.number(tok)
        if kind != "name":
            raise KernelError(f"unexpected {tok!r} in an expression")
        self.take()
        if tok in ("true", "false"):
            return "True" if tok == "true" else "False"
        if self.peek() == "(":
            if tok not in _FUNCS:
                raise KernelError(f"unsupported function {tok}()")
            self.take("(")
            args = []
            while self.peek() != ")":
                args.append(self.expr())
                if self.peek() == ",":
                    self.take(",")
            self.take(")")
            return f"{_FUNCS[tok]}({', '.join(args)})"
        if tok == "_ind" and self.peek() == ".":
            self.take(".")
            self.take("size")
            self.take("(")
            self.take(")")
            return "_n"
        if self.peek() == "[":
            if self.params.get(tok, ("",))[0] != "raw":
                raise KernelError(f"{tok}[...] indexes something that is not a raw parameter")
            self.take("[")
            index = self.expr()
            self.take("]")
            return f"v_{tok}[{index}]"
        if tok in self.params and self.params[tok][0] == "raw":
            raise KernelError(f"raw parameter {tok} used without an index")
        if tok != "i" and tok not in self.types:
            raise KernelError(f"{tok} is used before it is declared")
        return f"v_{tok}"

    @staticmethod
    def number(tok):
        t = tok.rstrip("uUlL")
        if t.lower().startswith("0x"):
            return str(int(t, 16))
        if t[-1] in "fF" and not t.lower().startswith("0x"):
            return f"np.float32({t[:-1]!r})"
        if any(c in t for c in ".eE"):
            return f"np.float64({t!r})"
        return str(int(t))

    # statements
    def emit(self, depth, line):
        self.lines.append("    " * depth + line)

    def block_or_statement(self, depth):
        start = len(self.lines)
        if self.peek() == "{":
            self.take("{")
            while self.peek() != "}":
                self.statement(depth)
            self.take("}")
        else:
            self.statement(depth)
        if len(self.lines) == start:
            self.emit(depth, "pass")

    def statement(self, depth):
        tok = self.peek()
        if tok == "{":
            self.block_or_statement(depth)
        elif tok == ";":
            self.take(";")
        elif tok == "for":
            self.for_loop(depth)
        elif tok == "while":
            self.take("while")
            self.take("(")
            cond = self.expr()
            self.take(")")
            self.emit(depth, f"while {cond}:")
            self.block_or_statement(depth + 1)
        elif tok == "if":
            self.take("if")
            self.take("(")
            cond = self.expr()
            self.take(")")
            self.emit(depth, f"if {cond}:")
            self.block_or_statement(depth + 1)
            if self.peek() == "else":
                self.take("else")
                self.emit(depth, "else:")
                self.block_or_statement(depth + 1)
        elif tok in ("continue", "break"):
            self.take()
            self.take(";")
            self.emit(depth, tok)
        elif tok == "return":
            self.take()
            self.take(";")
            self.emit(depth, "return _outputs()")
        elif self.is_type_word(tok):
            self.declaration(depth)
            self.take(";")
        else:
            self.simple(depth)
            self.take(";")

    def declaration(self, depth):
        words = []
        while self.is_type_word(self.peek()):
            words.append(self.take())
        _caster(words, self.typevars)  # unsupported types fail at translation
        while True:
            name = self.take()
            if name in self.params or name == "i":
                raise KernelError(f"local {name} shadows a parameter")
            self.types[name] = words
            value = self.expr() if self.peek() == "=" and self.take("=") else None
            self.emit(depth, f"v_{name} = _cast({words!r})({value})" if value is not None
                      else f"v_{name} = None")
            if self.peek() != ",":
                return
            self.take(",")

    def simple(self, depth):
        """An assignment, compound assignment or ++/-- as a statement."""
        if self.peek() in ("++", "--"):
            op = self.take()
            target, words = self.lvalue()
            self.emit(depth, self.store(target, words, f"({target} {op[0]} 1)"))
            return
        target, words = self.lvalue()
        op = self.take()
        if op in ("++", "--"):
            self.emit(depth, self.store(target, words, f"({target} {op[0]} 1)"))
            return
        if op not in _ASSIGN:
            raise KernelError(f"expected an assignment, got {op!r}")
        value = self.expr()
        if op != "=":
            base = op[:-1]
            value = {"/": f"_div({target}, {value})", "%": f"_mod({target}, {value})"}.get(
                base, f"({target} {base} {value})")
        self.emit(depth, self.store(target, words, value))

    def lvalue(self):
        name = self.take()
        kind = self.params.get(name, ("local",))[0]
        if kind == "in":
            raise KernelError(f"assignment to input parameter {name} (CuPy makes it const)")
        if name not in self.types:
            raise KernelError(f"assignment to undeclared {name}")
        if self.peek() == "[":
            if kind != "raw":
                raise KernelError(f"{name}[...] = on something that is not a raw parameter")
            self.take("[")
            index = self.expr()
            self.take("]")
            return f"v_{name}[{index}]", self.types[name]
        if kind == "raw":
            raise KernelError(f"assignment to raw parameter {name} itself")
        return f"v_{name}", self.types[name]

    def store(self, target, words, value):
        return f"{target} = _cast({words!r})({value})"

    def for_loop(self, depth):
        self.take("for")
        self.take("(")
        words = []
        while self.is_type_word(self.peek()):
            words.append(self.take())
        var = self.take()
        self.take("=")
        start = self.expr()
        self.take(";")
        if words:
            self.types[var] = words
        elif var not in self.types:
            raise KernelError(f"loop variable {var} is not declared")
        if self.take() != var:
            raise KernelError("only 'for (k = a; k < b; ++k)'-style loops are supported")
        cmp = self.take()
        stop = self.expr()
        self.take(";")
        step_toks = []
        while self.peek() != ")":
            step_toks.append(self.take())
        self.take(")")
        steps = {("++", var): 1, (var, "++"): 1, ("--", var): -1, (var, "--"): -1}
        step = steps.get(tuple(step_toks))
        if step is None and len(step_toks) == 3 and step_toks[0] == var \
                and step_toks[1] in ("+=", "-="):
            step = int(step_toks[2]) * (1 if step_toks[1] == "+=" else -1)
        bound = {"<": stop, "<=": f"({stop}) + 1", ">": stop, ">=": f"({stop}) - 1"}.get(cmp)
        if step is None or bound is None or (step > 0) != (cmp in ("<", "<=")):
            raise KernelError(f"unsupported for-loop form ({var} {cmp} ...; "
                              f"{' '.join(step_toks)})")
        self.emit(depth, f"for v_{var} in range(int({start}), int({bound}), {step}):")
        self.block_or_statement(depth + 1)

    def translate(self):
        while self.pos < len(self.toks):
            self.statement(1)
        return self.lines


# ---------------------------------------------------------------- the kernel object

def _parse_params(spec, kind):
    params = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        words = part.split()
        raw = words[0] == "raw"
        words = words[1:] if raw else words
        if len(words) != 2:
            raise KernelError(f"cannot parse parameter {part!r}")
        params.append((words[1], words[0], "raw" if raw else kind))
    return params


class ElementwiseKernel:
    """cupy.ElementwiseKernel's calling convention, running the body on NumPy arrays."""

    def __init__(self, in_params, out_params, body, name):
        self.name = name
        self.ins = _parse_params(in_params, "in")
        self.outs = _parse_params(out_params, "out")
        self.body = body
        self.launches = 0
        # translate once with placeholder dtypes to report syntax problems at build time
        self._program({t: np.dtype(np.float64) for _, t, _ in self.ins + self.outs
                       if t not in _DTYPE_NAMES})

    def _program(self, typevars):
        params = {name: (kind, [t]) for name, t, kind in self.ins + self.outs}
        for name, t, _ in self.ins + self.outs:
            if t not in _DTYPE_NAMES and t not in typevars:
                raise KernelError(f"type {t} of {name} is not resolved")
        tv = dict(typevars)
        # concrete dtype names are types of their own inside the body
        for name, t, _ in self.ins + self.outs:
            if t in _DTYPE_NAMES:
                tv.setdefault(t, np.dtype(t))
        tr = _Translator(self.body, params, tv)
        lines = tr.translate()
        out_names = [name for name, _, kind in self.outs if kind == "out"]
        header = ["def _element(_n, v_i, " + ", ".join(
            f"v_{name}" for name, _, _ in self.ins + self.outs) + "):",
            "    def _outputs():",
            "        return (" + "".join(f"v_{n}, " for n in out_names) + ")"]
        source = "\n".join(header + lines + ["    return _outputs()"])
        env = {"np": np, "_div": _div, "_mod": _mod, "_max": _max, "_min": _min,
               "_erf": _erf, "_cast": lambda words: _caster(words, tv)}
        try:
            exec(compile(source, f"<kernel {self.name}>", "exec"), env)
        except SyntaxError as e:  # a translator bug, not the kernel's
            raise KernelError(f"translation of {self.name} failed: {e}\n{source}") from e
        return env["_element"]

    def _resolve(self, args):
        typevars = {}
        for (name, t, kind), a in zip(self.ins + self.outs, args):
            dt = a.dtype if isinstance(a, (np.ndarray, np.generic)) else None
            if t in _DTYPE_NAMES:
                if isinstance(a, np.ndarray) and a.dtype != np.dtype(t):
                    raise KernelError(f"{self.name}: {name} is declared {t} but gets a "
                                      f"{a.dtype} array")
                continue
            if dt is not None:
                if t in typevars and typevars[t] != dt:
                    raise KernelError(f"{self.name}: type {t} is {typevars[t]} and {dt} "
                                      f"(at {name}): CuPy raises 'Type is mismatched'")
                typevars.setdefault(t, dt)
        return typevars

    def __call__(self, *args, size=None):
        n_in, n_out = len(self.ins), len(self.outs)
        if len(args) not in (n_in, n_in + n_out):
            raise TypeError(f"Wrong number of arguments for {self.name!r}: expected {n_in} "
                            f"or {n_in + n_out}, got {len(args)}")
        args = list(args)
        typevars = self._resolve(args)
        elementwise = [a for (_, _, kind), a in zip(self.ins + self.outs, args)
                       if kind != "raw" and isinstance(a, np.ndarray)]
        shape = np.broadcast_shapes(*(a.shape for a in elementwise)) if elementwise \
            else None
        if shape is None:
            if size is None:
                raise ValueError(f"{self.name}: loop size is undecided (no non-raw array "
                                 f"argument and no size=)")
            shape = (size,)
        elif size is not None:
            raise ValueError(f"{self.name}: size= given with non-raw array arguments")
        for name, t, kind in self.outs[len(args) - n_in:]:
            if kind == "raw":
                raise ValueError(f"{self.name}: raw output {name} must be passed")
            dt = np.dtype(t) if t in _DTYPE_NAMES else typevars[t]
            args.append(np.empty(shape, dtype=dt))
        for (name, t, kind), a in zip(self.outs, args[n_in:]):
            if kind == "out" and tuple(a.shape) != tuple(shape):
                raise ValueError(f"{self.name}: output {name} has shape {a.shape}, the loop "
                                 f"{shape}")
        element = self._program(typevars)
        n = int(np.prod(shape))
        columns = []
        for (name, t, kind), a in zip(self.ins + self.outs, args):
            if kind == "raw":
                columns.append(("raw", _Raw(name, a)))
            elif isinstance(a, np.ndarray):
                columns.append(("array", np.broadcast_to(a, shape).reshape(-1)))
            else:
                dt = np.dtype(t) if t in _DTYPE_NAMES else typevars.get(t)
                columns.append(("scalar", dt.type(a) if dt is not None else a))
        results = [np.empty(n, dtype=a.dtype) for (_, _, kind), a in
                   zip(self.outs, args[n_in:]) if kind == "out"]
        with np.errstate(all="ignore"):
            for i in range(n):
                values = [c[i] if k == "array" else c for k, c in columns]
                for r, v in zip(results, element(n, i, *values)):
                    r[i] = v
        outs = [a for (_, _, kind), a in zip(self.outs, args[n_in:]) if kind == "out"]
        for a, r in zip(outs, results):
            a[...] = r.reshape(shape)
        self.launches += 1
        outputs = args[n_in:]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


def elementwise_kernel(name, in_params, out_params, body):
    """Stands in for dynet.backend.cuda.elementwise_kernel."""
    return ElementwiseKernel(in_params, out_params, body, "dynet_" + name)
