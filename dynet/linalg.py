"""dynet.linalg: torch.linalg's functions (norms, inverses, solves and decompositions), all
differentiable, on the CPU (NumPy/LAPACK) and CUDA (CuPy/cuSOLVER) through one code path."""
from .ops.functions import matmul
from .ops.linalg_functions import (LinAlgError, cholesky, det, eigh, eigvalsh, inv, matrix_norm,
                                   norm, qr, solve, svd, svdvals, vecdot, vector_norm)
from .ops.linalg_functions import linalg_cross as cross

__all__ = ["LinAlgError", "cholesky", "cross", "det", "eigh", "eigvalsh", "inv", "matmul",
           "matrix_norm", "norm", "qr", "solve", "svd", "svdvals", "vecdot", "vector_norm"]
