"""Typed interface shared by the compiled npy module and its pure twin."""

from typing import Any

import numpy as np

MAGIC: bytes
ALIGN: int

class NpyError(ValueError): ...

def parse_header(
    buf: Any, total_size: int = -1
) -> tuple[np.dtype[Any], tuple[int, ...], int, bool]: ...
def load(buf: Any) -> np.ndarray[Any, Any]: ...
def header_bytes(dtype: Any, shape: tuple[int, ...], fortran_order: bool = False) -> bytes: ...
