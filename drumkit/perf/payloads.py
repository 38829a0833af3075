"""CSV request bodies of any row count, built by repeating (or truncating) the input's rows."""

from __future__ import annotations

from pathlib import Path


class CsvRows:
    """The input table as CSV lines, so an N-row body is a header plus N lines, without re-encoding."""

    def __init__(self, header: bytes, lines: list[bytes], columns: int):
        self.header = header
        self.lines = lines
        self.columns = columns

    @classmethod
    def from_file(cls, path: Path) -> CsvRows:
        """Decode any input drumkit reads (CSV, Arrow, Parquet, MTX) and re-encode it as CSV lines."""
        from drumkit.predictor import codecs

        frame = codecs.decode(Path(path).read_bytes(), codecs.format_for_filename(Path(path).name))
        if any(str(dtype).startswith("Sparse") for dtype in frame.dtypes):
            frame = frame.sparse.to_dense()
        text = frame.to_csv(index=False, lineterminator="\n")
        header, _, body = text.partition("\n")
        lines = [line + "\n" for line in body.split("\n") if line]
        if len(lines) != len(frame):
            # Quoted values span lines: encode row by row (slower, still exact).
            lines = [
                frame.iloc[i : i + 1].to_csv(index=False, header=False, lineterminator="\n")
                for i in range(len(frame))
            ]
        return cls((header + "\n").encode("utf-8"), [line.encode("utf-8") for line in lines], frame.shape[1])

    @property
    def rows(self) -> int:
        """Rows in the input."""
        return len(self.lines)

    def body(self, samples: int) -> bytes:
        """A CSV body with exactly `samples` rows: the input's rows repeated or truncated."""
        if not self.lines:
            return self.header
        whole, rest = divmod(samples, len(self.lines))
        block = b"".join(self.lines)
        return self.header + block * whole + b"".join(self.lines[:rest])
