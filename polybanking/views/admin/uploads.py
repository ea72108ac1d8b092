"""Reading one uploaded file from an admin form: what is not a file of text gets a clear 4xx.

A person may pick the wrong file (a PDF, a spreadsheet, an empty export) or a script may post a
plain field: each is refused with a sentence that says what to do, before anything reads it.
"""

import os
import re
from dataclasses import dataclass
from typing import BinaryIO

MAX_NAME = 255
SNIFF_BYTES = 64 * 1024
#: Control bytes that no CSV or XML text holds (tab, LF, VT, FF and CR are allowed): a NUL in
#: every spreadsheet, zip and PDF, ``\x1a`` in PNG, ``\x1f`` in gzip, UTF-16's NUL halves …
BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f]")


class UploadRefused(Exception):
    """The form holds no usable file; ``str()`` is the message for the person, ``status`` the code."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upload:
    name: str
    stream: BinaryIO
    size: int


def clean_name(raw: str | None) -> str:
    """The file's own name: no folders (old browsers send a whole path), nothing unprintable."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(ch if ch.isprintable() else " " if ch.isspace() else "" for ch in name)
    name = name.strip()[:MAX_NAME]
    return name or "report"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size} bytes"


def uploaded_text_file(request, field: str, max_bytes: int) -> Upload:
    """The one file in ``field`` of the (multipart) form, rewound; UploadRefused when there is none,
    several, an empty one, one larger than ``max_bytes`` or one that is not text. The form's files
    are closed when the request ends, whatever happens."""
    try:
        values = request.POST.getall(field)
    except (UnicodeDecodeError, ValueError):  # as read_form: an unreadable form is a 400
        raise UploadRefused("The form could not be read.") from None
    files = [value for value in values if hasattr(value, "file") and hasattr(value, "filename")]
    if not files:
        raise UploadRefused("Choose a file to upload (the form has no file in it).")
    if len(files) > 1 or len(values) > 1:
        raise UploadRefused("Upload one file at a time.")
    name = clean_name(files[0].filename)
    stream = files[0].file
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise UploadRefused(f"The file “{name}” is empty.")
    if size > max_bytes:
        raise UploadRefused(
            f"The file “{name}” is too large ({_megabytes(size)}; at most {_megabytes(max_bytes)}).", 413
        )
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    if BINARY.search(head):
        raise UploadRefused(
            f"The file “{name}” is not a text file: upload the report as PostFinance's back office "
            "downloads it (CSV or XML), not a spreadsheet, PDF or archive."
        )
    return Upload(name, stream, size)
