"""Small helpers shared by the stages: shape and count formatting, pausing the GC.

>>> shape_text((3, 224, 224)), short_count(11689512), exact_count(2 ** 58)
('[3, 224, 224]', '11.7M', '2.882e17')
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import tempfile
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from resgraph.errors import ResgraphError


def shape_text(shape: Sequence[int]) -> str:
    """A shape as the language writes it.

    >>> shape_text((64, 56, 56))
    '[64, 56, 56]'
    """
    return "[" + ", ".join(str(d) for d in shape) + "]"


def short_count(n: int) -> str:
    """A short count for diagrams: ``36864`` → ``36.9K``, ``2359296`` → ``2.36M``.

    >>> short_count(512), short_count(36864), short_count(230144), short_count(11689512)
    ('512', '36.9K', '230K', '11.7M')
    """
    for div, unit in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "K")):
        if n >= div:
            value = n / div
            text = f"{value:.{max(3 - len(str(int(value))), 0)}f}"
            return (text.rstrip("0").rstrip(".") if "." in text else text) + unit
    return str(n)


def sci(n: int, digits: int = 3) -> str:
    """Scientific form of an exact integer of any size (no float overflow).

    >>> sci(65536), sci(2 ** 333), sci(7)
    ('6.554e4', '1.750e100', '7')
    """
    if abs(n) < 10:
        return str(n)
    mantissa, _, exp = f"{Decimal(n):.{digits}e}".partition("e")
    return f"{mantissa}e{int(exp)}"


def exact_count(n: int, limit: int = 15) -> str:
    """An exact count with separators, or in scientific form when that is too long.

    >>> exact_count(65536), exact_count(2 ** 58)
    ('65,536', '2.882e17')
    """
    text = f"{n:,}"
    return text if len(text) <= limit else sci(n)


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector. Elaboration and analysis make many long-lived
    objects and no cycles; repeated full collections over a large IR graph would make
    them quadratic in network size.

    >>> with no_gc():
    ...     gc.isenabled()
    False
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def atomic_write(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    The bytes go to a temporary file in the same folder, are flushed to disk, then renamed
    over ``path``. A failure (a full disk, a signal) leaves the old file as it was and no
    temporary file behind. A symbolic link at ``path`` is replaced, never followed.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", "hello")
    >>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
    ('hello', ['a.txt'])
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o666 & ~_umask())  # as open() would, not mkstemp's 0600
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def os_reason(exc: BaseException) -> str:
    """Why an operation failed, for a message: an OSError's ``strerror`` ("No such file or
    directory"), else the exception's text.

    >>> os_reason(FileNotFoundError(2, "No such file or directory")), os_reason(ValueError("x"))
    ('No such file or directory', 'x')
    """
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def save_figure(fig: Any, path: str | os.PathLike[str], code: str, what: str = "the plot",
                dpi: float | None = None) -> None:
    """Draw a matplotlib figure in memory in the format of ``path``'s extension, write it
    with :func:`atomic_write` (a failed write leaves the previous file whole, and a link at
    ``path`` is replaced, never followed) and close the figure; a failure is ``code``.

    >>> import tempfile, pathlib
    >>> from matplotlib.figure import Figure
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "f.png"
    >>> save_figure(Figure(), out, "RG602")
    >>> out.read_bytes()[:4]
    b'\\x89PNG'
    """
    import matplotlib.pyplot as plt

    image = io.BytesIO()
    try:
        fig.savefig(image, format=os.path.splitext(path)[1][1:].lower() or None, dpi=dpi)
        atomic_write(path, image.getvalue())
    except (OSError, ValueError) as exc:
        raise ResgraphError(code, f"cannot write {what} to '{os.fspath(path)}': "
                            f"{os_reason(exc)}") from None
    finally:
        plt.close(fig)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
