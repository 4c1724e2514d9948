"""A build's vectors: FAISS files of sentence and chunk vectors, and the exact vectors by row.

Up to the exact limit an index is flat (exact search; the index holds the vectors). Above it, an
inverted file (IVF) of 8-bit quantized vectors with about 4 sqrt(n) lists, `IVF_NPROBE` of them
searched, gives candidates, and the exact float vectors go to `<name>.npy` beside it so that the
candidates can be rescored exactly; they are read from disk on demand (`DiskVectors`). An IVF
index that nothing is added to is memory-mapped: a query reads the lists it probes from the page
cache, and the process holds no copy of the rest. Measured: benchmarks/results/scale.md,
scale-app.md and archive.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.errors import IndexCorruptError

if TYPE_CHECKING:
    import faiss

IVF_NPROBE = 64


def write_vectors(build_dir: Path, name: str, vectors: np.ndarray, exact_limit: int | None = None) -> str:
    """Store vectors as a FAISS inner-product index; returns its description for the manifest.
    Up to `exact_limit` vectors (None: no limit) the index is flat; above, IVF + `<name>.npy`."""
    import faiss

    data = np.ascontiguousarray(vectors, dtype=np.float32)
    if exact_limit is None or len(data) <= exact_limit:
        index, kind = faiss.IndexFlatIP(data.shape[1]), "IndexFlatIP"
    else:
        nlist = max(1, min(int(4 * np.sqrt(len(data))), len(data) // 39))  # FAISS wants 39 points a list
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(data.shape[1]), data.shape[1], nlist,
                                              faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(0).choice(len(data), min(len(data), 50 * nlist), replace=False)
        index.train(data[np.sort(sample)])
        index.nprobe = min(IVF_NPROBE, nlist)
        kind = (f"IndexIVFScalarQuantizer(nlist={nlist},SQ8,nprobe={index.nprobe}) "
                f"+ exact vectors in {name}.npy")
        write_npy(build_dir / f"{name}.npy", data)
    if len(data):
        index.add(data)
    faiss.write_index(index, str(build_dir / f"{name}.faiss"))
    return kind


def write_npy(path: Path, vectors: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(vectors, dtype=np.float32))


def is_exact(index: faiss.Index) -> bool:
    """True for a flat index, which holds the vectors and is searched exhaustively."""
    import faiss

    return isinstance(index, faiss.IndexFlat)


def read_vectors(build_dir: Path, name: str, expected: int, dimension: int,
                 mapped: bool = True) -> tuple[faiss.Index, np.ndarray | DiskVectors]:
    """The FAISS index of `name` and its exact vectors, by row: a view of a flat index's own
    storage (an array), or the `<name>.npy` beside an IVF index, read on demand. `mapped`: an IVF
    index is memory-mapped, read-only (False: read into memory, so that vectors can be added)."""
    import faiss

    path, exact = build_dir / f"{name}.faiss", build_dir / f"{name}.npy"  # .npy: beside an IVF index
    try:
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP if mapped and exact.is_file() else 0)
    except RuntimeError as exc:
        raise IndexCorruptError(f"{path} is damaged or missing: run `qa index --full` to rebuild") from exc
    if index.ntotal != expected or index.d != dimension:
        raise IndexCorruptError(f"{path} holds {index.ntotal} vectors of {index.d} dimensions, the "
                                f"manifest says {expected} of {dimension}: run `qa index --full`")
    if is_exact(index):
        return index, _flat_view(index)
    return index, DiskVectors(exact, expected, dimension)


def _flat_view(index: faiss.IndexFlat) -> np.ndarray:
    """The vectors a flat index holds, as an array (no copy; the array keeps the index alive)."""
    import faiss

    n, d = index.ntotal, index.d
    if not n:
        return np.zeros((0, d), dtype=np.float32)
    return np.asarray(_Owned(index, faiss.rev_swig_ptr(index.get_xb(), n * d).reshape(n, d)))


def read_npy(path: Path, rows: int, dimension: int) -> np.ndarray:
    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path} is damaged or missing: run `qa index --full` to rebuild") from exc
    if data.shape != (rows, dimension) or data.dtype != np.float32:
        raise IndexCorruptError(f"{path} holds {data.shape} {data.dtype}, expected {rows} x {dimension} "
                                "float32: run `qa index --full` to rebuild")
    return data


def merge_vectors(index: faiss.Index, vectors: np.ndarray | DiskVectors, keep: np.ndarray,
                  extra: np.ndarray) -> tuple[faiss.Index, np.ndarray | CombinedVectors, np.ndarray | None]:
    """Base vectors still current (`keep`) and a delta's, as (index, exact vectors by row, each
    row's id in the index or None). A flat base becomes a new flat index of exactly those rows;
    an IVF base gets the delta's vectors added under new ids, and its replaced rows are never
    mapped to a row."""
    import faiss

    if is_exact(index):
        merged = np.concatenate([np.asarray(vectors)[keep], extra])
        flat = faiss.IndexFlatIP(merged.shape[1])
        if len(merged):
            flat.add(merged)
            return flat, _flat_view(flat), None
        return flat, merged, None
    new_ids = index.ntotal + np.arange(len(extra), dtype=np.int64)
    if len(extra):
        index.add_with_ids(extra, new_ids)
    return index, CombinedVectors(vectors, keep, extra), np.concatenate([keep, new_ids])


class DiskVectors:
    """The exact vectors beside an IVF index (`<name>.npy`), read from disk when asked for: a
    query reads a few hundred rows, so a large index's vectors are not held in memory (nor mapped:
    a memory map would count the whole file against the process once it is in the page cache)."""

    def __init__(self, path: Path, rows: int, dimension: int):
        self.path = path
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - kept open for the snapshot's lifetime
            fmt = np.lib.format
            header = (fmt.read_array_header_1_0 if fmt.read_magic(self._file) == (1, 0)
                      else fmt.read_array_header_2_0)
            shape, fortran, dtype = header(self._file)
        except (OSError, ValueError) as exc:
            raise IndexCorruptError(f"{path} is damaged or missing: "
                                    "run `qa index --full` to rebuild") from exc
        if shape != (rows, dimension) or fortran or dtype != np.float32:
            raise IndexCorruptError(f"{path} holds {shape} {dtype}, the manifest says {rows} x "
                                    f"{dimension} float32: run `qa index --full` to rebuild")
        self.shape, self.dtype, self.ndim = (rows, dimension), np.dtype(np.float32), 2
        self._offset = self._file.tell()
        # Ask the kernel to read the file into its page cache now, in the background (a cold
        # cache would make the first questions wait for the disk); this is not the process's memory.
        os.posix_fadvise(self._file.fileno(), 0, 0, os.POSIX_FADV_WILLNEED)
        self._row_bytes = dimension * 4
        size = os.fstat(self._file.fileno()).st_size
        if size != self._offset + rows * self._row_bytes:
            raise IndexCorruptError(f"{path} is truncated: run `qa index --full` to rebuild")

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of the given rows (an integer array), in that order."""
        rows = np.asarray(rows, dtype=np.int64).ravel()
        if len(rows) and (rows.min() < 0 or rows.max() >= self.shape[0]):
            raise IndexError(f"row out of range for {self.shape[0]} vectors")
        if len(rows) > self.shape[0] // 8:  # most of the file: one read
            return np.asarray(self)[rows]
        out = np.empty((len(rows), self.shape[1]), dtype=np.float32)
        view, fd, size = memoryview(out).cast("B"), self._file.fileno(), self._row_bytes
        for i, row in enumerate(rows.tolist()):
            if os.preadv(fd, [view[i * size:(i + 1) * size]], self._offset + row * size) != size:
                raise IndexCorruptError(f"{self.path} could not be read: run `qa index --full`")
        return out

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        data = np.fromfile(self.path, dtype=np.float32, offset=self._offset).reshape(self.shape)
        return data if dtype is None else data.astype(dtype)


class CombinedVectors:
    """The rows of a large base that are still current, then a delta's rows (held in memory)."""

    def __init__(self, base: DiskVectors, keep: np.ndarray, extra: np.ndarray):
        self.base, self.keep, self.extra = base, keep, extra
        self.shape, self.dtype, self.ndim = (len(keep) + len(extra), base.shape[1]), np.dtype(np.float32), 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64).ravel()
        out = np.empty((len(rows), self.shape[1]), dtype=np.float32)
        in_base = rows < len(self.keep)
        out[in_base] = self.base[self.keep[rows[in_base]]]
        out[~in_base] = self.extra[rows[~in_base] - len(self.keep)]
        return out

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        data = np.concatenate([np.asarray(self.base)[self.keep], self.extra])
        return data if dtype is None else data.astype(dtype)


class _Owned:
    """An array view of memory that a FAISS index owns; the array keeps the index alive."""

    def __init__(self, owner: object, view: np.ndarray):
        self.owner = owner
        self.__array_interface__ = view.__array_interface__
