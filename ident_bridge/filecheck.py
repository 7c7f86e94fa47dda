"""Files that cannot hurt: what a document's bytes really are, and what active content they carry.

Used on every file that enters CPMS: an analyst's upload (icts) and a partner's attachment at receipt (ICD §7).

- The type is what the content is, not what the name or the browser says; a declared type that disagrees is refused.
- A PDF is parsed (pypdf) and refused when it carries JavaScript, an open action, additional actions, launch or
  other actions that run something, embedded files, rich media or XFA forms, or HTML/script markup anywhere in its
  bytes (a PDF-HTML polyglot), or when it does not parse.
- An image is decoded (Pillow, with its decompression-bomb guard) and refused when it does not decode. What CPMS
  keeps, shows and sends of any image (an upload, or a partner's attachment once received) is `reencode_image`'s
  copy: new pixels in a new file, carrying nothing of the original but its pixels (and its resolution, a number).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from .icd import sniff_media_type

EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/tiff": (".tif", ".tiff"),
}
TYPE_NAMES = {"application/pdf": "a PDF", "image/jpeg": "a JPEG image", "image/png": "a PNG image", "image/tiff": "a TIFF image"}
# Names in a PDF that make a viewer run or fetch something.
ACTIVE_PDF_NAMES = {"/JavaScript": "JavaScript", "/JS": "JavaScript", "/OpenAction": "an action that runs when it opens",
                    "/AA": "actions that run on events", "/Launch": "an action that launches a program",
                    "/EmbeddedFiles": "embedded files", "/EmbeddedFile": "an embedded file", "/RichMedia": "rich media",
                    "/XFA": "an XFA form", "/SubmitForm": "a form that submits data", "/ImportData": "an action that imports data",
                    "/GoToR": "a link that opens another file", "/GoToE": "a link into an embedded file", "/URI": "a web link"}
_MARKUP = re.compile(rb"<\s*(script|html|body|iframe|object|embed|svg)\b", re.IGNORECASE)


class UnsafeFile(ValueError):
    """Why the file was refused, in words for the person who sent it."""


@dataclass(frozen=True)
class Inspected:
    media_type: str
    data: bytes  # re-encoded when asked (an upload's images); as received otherwise (a partner's, checked at receipt)


def inspect(data: bytes, *, filename: str = "", declared_type: str = "", reencode: bool = False) -> Inspected:
    """The checks of this module; raises UnsafeFile with a reason a person can act on."""
    if not data:
        raise UnsafeFile("The file is empty.")
    media_type = sniff_media_type(data)
    if media_type is None:
        raise UnsafeFile("Only JPEG, PNG, TIFF or PDF files are accepted; this file is none of them.")
    name = filename.lower()
    if filename and "." in name and not name.endswith(EXTENSIONS[media_type]):
        raise UnsafeFile(f"The file is named {filename!r} but its content is {TYPE_NAMES[media_type]}. Rename it, or send "
                         "the document it is meant to be.")
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared and declared not in ("application/octet-stream", media_type, "image/jpg", "image/pjpeg"):
        raise UnsafeFile(f"The file says it is {declared} but its content is {TYPE_NAMES[media_type]}.")
    if media_type == "application/pdf":
        _check_pdf(data)
        return Inspected(media_type, data)
    return Inspected(media_type, reencode_image(data, media_type) if reencode else _check_image(data, media_type))


def _check_pdf(data: bytes) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if _MARKUP.search(data):
        raise UnsafeFile("This PDF also contains web-page markup (a script or HTML): it is refused. Print it to a new PDF.")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UnsafeFile("This PDF is encrypted: CPMS cannot check it. Send an unencrypted copy.")
        found = set()
        _walk(reader.trailer, found, set(), depth=0)
        for page in reader.pages:
            _walk(page, found, set(), depth=0)
            for stream in _contents(page):
                if _MARKUP.search(stream):
                    found.add("/JavaScript")
    except UnsafeFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        raise UnsafeFile(f"This PDF cannot be read ({type(exc).__name__}): it may be damaged. Print it to a new PDF.") from None
    if found:
        what = sorted({ACTIVE_PDF_NAMES[n] for n in found})
        raise UnsafeFile(f"This PDF carries {', '.join(what)}, which CPMS does not accept. Print it to a new PDF (which "
                         "drops them) and attach that.")


def _contents(page) -> list[bytes]:
    try:
        contents = page.get_contents()
        return [contents.get_data()] if contents is not None else []
    except Exception:  # noqa: BLE001 - a content stream that does not decode is simply not scanned; the walk still is
        return []


def _walk(obj, found: set, seen: set, *, depth: int) -> None:
    """Every dictionary and array reachable from `obj`, once each: the names that make a viewer act."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    if depth > 200:
        raise UnsafeFile("This PDF is nested too deeply to check. Print it to a new PDF.")
    if isinstance(obj, IndirectObject):
        key = (obj.idnum, obj.generation)
        if key in seen:
            return
        seen.add(key)
        obj = obj.get_object()
    if isinstance(obj, DictionaryObject):
        for name, value in obj.items():
            if name in ACTIVE_PDF_NAMES and name != "/URI":
                found.add(name)
            if name == "/S" and isinstance(value, NameObject) and value in ACTIVE_PDF_NAMES and value != "/URI":
                found.add(str(value))
            if name not in ("/Parent",):
                _walk(value, found, seen, depth=depth + 1)
    elif isinstance(obj, ArrayObject):
        for item in obj:
            _walk(item, found, seen, depth=depth + 1)


def _open_image(data: bytes):
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Image.DecompressionBombError:
        raise UnsafeFile("This image is too large to open safely. Scan it at a lower resolution.") from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for broken or hostile images
        raise UnsafeFile("This image cannot be decoded: it may be damaged, or not the image it claims to be.") from None
    return image


def _check_image(data: bytes, media_type: str) -> bytes:
    """A partner's image at receipt: accepted only if it can be drawn again (`_redraw`), so that storing its re-encoded
    copy later (in the worker, after 202 was answered) does not fail on it. The bytes are returned as received (ICD §7's
    sha256)."""
    _redraw(data, media_type)
    return data


# A TIFF may hold many pages (a scanned document); each is drawn again. More than this is refused, not cut short.
MAX_TIFF_PAGES = 50


def reencode_image(data: bytes, media_type: str) -> bytes:
    """The image drawn again from its pixels alone.

    Pillow's own save carries metadata over from the file it opened (a JPEG's COM comment, a TIFF's XMP, IPTC and
    Photoshop blocks, any ICC profile), so the pixels are copied into a new image that has no `info` and no tags
    (`_pixels_only`), and only that is saved. What does not survive: COM and every APPn segment (EXIF, XMP, IPTC,
    ICC, vendor blocks) but the JFIF header the encoder writes, PNG text, EXIF, ICC and private chunks, TIFF
    tags beyond the image structure, a JPEG's extra MPO frames (previews of the same picture), and anything after
    the image's end. An EXIF orientation is applied to the pixels first; an ICC profile is applied (to sRGB) and
    dropped. A TIFF keeps every page; an animated PNG is refused rather than cut to one frame.
    """
    from PIL import Image

    pages, dpi = _redraw(data, media_type)
    out = io.BytesIO()
    try:
        first, rest = pages[0], pages[1:]
        if media_type == "image/jpeg":
            first.save(out, "JPEG", quality=92, **dpi)
        elif media_type == "image/png":
            first.save(out, "PNG", optimize=False, **dpi)
        else:
            first.save(out, "TIFF", compression="tiff_lzw", save_all=bool(rest), append_images=rest, **dpi)
    except Image.DecompressionBombError:
        raise UnsafeFile("This image is too large to open safely. Scan it at a lower resolution.") from None
    except Exception:  # noqa: BLE001 - pixels that cannot be written again are refused like pixels that do not decode
        raise UnsafeFile("This image cannot be decoded: it may be damaged, or not the image it claims to be.") from None
    return out.getvalue()


def _redraw(data: bytes, media_type: str):
    """The new images (one per page) holding the pixels alone, and the resolution to write; every refusal of
    `reencode_image` but none of the encoding's cost (a partner's message checks this at receipt, 20 files at most)."""
    from PIL import Image

    image = _open_image(data)
    frames = getattr(image, "n_frames", 1)
    if media_type == "image/png" and frames > 1:
        raise UnsafeFile("This PNG is animated. Send a still image (a single frame).")
    if media_type == "image/tiff" and frames > MAX_TIFF_PAGES:
        raise UnsafeFile(f"This TIFF has {frames} pages; CPMS accepts at most {MAX_TIFF_PAGES}. Split it into several files.")
    try:
        pages = []
        for index in range(frames if media_type == "image/tiff" else 1):
            image.seek(index)
            image.load()
            pages.append(_pixels_only(image, media_type))
        return pages, _dpi(image)
    except UnsafeFile:
        raise
    except Image.DecompressionBombError:
        raise UnsafeFile("This image is too large to open safely. Scan it at a lower resolution.") from None
    except Exception:  # noqa: BLE001 - a page that decoded but cannot be redrawn is refused like one that does not decode
        raise UnsafeFile("This image cannot be decoded: it may be damaged, or not the image it claims to be.") from None


# What `reencode_image` writes and nothing else: JPEG markers (SOF0-2, DHT, DQT, DRI, APP0 as JFIF, APP14 Adobe for
# CMYK) and PNG chunks.
_JPEG_MARKERS = {0xC0, 0xC1, 0xC2, 0xC4, 0xDB, 0xDD, 0xE0, 0xEE}
_PNG_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"pHYs", b"IDAT", b"IEND"}
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")


def redrawn(stored: bytes, media_type: str) -> bytes | None:
    """A stored image drawn again from its pixels alone, or None when there is nothing to drop (it carries only its
    pixels already, or drawing it again gives the same bytes). Raises UnsafeFile when it does not decode: for the
    commands that redraw what was stored before images were redrawn at receipt and upload."""
    if carries_only_pixels(stored, media_type):
        return None
    data = reencode_image(stored, media_type)
    return None if data == stored else data


def carries_only_pixels(data: bytes, media_type: str) -> bool:
    """Whether an image holds nothing `reencode_image` would drop (no other segment or chunk, nothing after the end):
    a stored image that was redrawn already is not redrawn again (a JPEG would lose quality each time)."""
    import struct

    try:
        if media_type == "image/jpeg":
            pos = 2
            while True:
                marker, length = data[pos + 1], struct.unpack(">H", data[pos + 2:pos + 4])[0]
                if data[pos] != 0xFF or (marker != 0xDA and marker not in _JPEG_MARKERS) \
                        or (marker == 0xE0 and not data[pos + 4:pos + 9] == b"JFIF\x00"):
                    return False
                pos += 2 + length
                if marker == 0xDA:  # one scan (we write baseline): in its data 0xFF is stuffed or a restart marker,
                    following = _JPEG_NEXT_MARKER.search(data, pos)  # so the next marker must be the end, at the end
                    return following is not None and following.group() == b"\xff\xd9" and following.end() == len(data)
        if media_type == "image/png":
            pos = 8
            while True:
                length, kind = struct.unpack(">I", data[pos:pos + 4])[0], data[pos + 4:pos + 8]
                if kind not in _PNG_CHUNKS:
                    return False
                pos += 12 + length
                if kind == b"IEND":
                    return pos == len(data)
        # A TIFF's tags and strips may sit anywhere in the file, so what lies outside them is not read from its
        # structure: LZW is lossless and the redraw deterministic, so a redrawn TIFF comes out byte for byte the same.
        return reencode_image(data, media_type) == data
    except (IndexError, ValueError, struct.error, EOFError, UnsafeFile):
        return False


# The modes each format is written in; anything else is converted to the nearest of them.
_MODES = {"image/jpeg": ("L", "RGB", "CMYK"), "image/png": ("1", "L", "LA", "RGB", "RGBA", "I;16", "I"),
          "image/tiff": ("1", "L", "LA", "RGB", "RGBA", "CMYK", "I;16", "I", "F")}


def _pixels_only(frame, media_type: str):
    """A new image with the frame's pixels and nothing else: no `info`, no tags, no palette beyond colours."""
    from PIL import Image, ImageOps

    try:
        frame = ImageOps.exif_transpose(frame)  # the orientation goes into the pixels before the EXIF goes
    except Exception:  # noqa: BLE001 - a broken EXIF block is dropped with the rest; the pixels stay as stored
        pass
    frame = _to_srgb(frame)
    if frame.mode in ("P", "PA") or "transparency" in frame.info:
        # A palette (or a PNG colour key) is folded into plain colours, so nothing of the original's tables is kept.
        has_alpha = frame.mode == "PA" or "transparency" in frame.info or frame.mode in ("LA", "RGBA")
        frame = frame.convert("RGBA" if has_alpha else "RGB")
    if frame.mode not in _MODES[media_type]:
        frame = frame.convert("RGB" if media_type == "image/jpeg" or frame.mode not in ("LA", "RGBA", "PA") else "RGBA")
    return Image.frombytes(frame.mode, frame.size, frame.tobytes())


def _to_srgb(frame):
    """Colours that a profile changed, as sRGB pixels; the profile (free bytes the sender chose) is not kept."""
    icc = frame.info.get("icc_profile")
    if not icc or frame.mode not in ("RGB", "RGBA", "CMYK"):
        return frame
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        output = "RGBA" if frame.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(frame, source, ImageCms.createProfile("sRGB"), outputMode=output)
    except Exception:  # noqa: BLE001 - a profile littlecms cannot use is dropped; the pixels are kept as they are
        return frame


def _dpi(image) -> dict:
    """The scan's resolution, the one number kept from the original (an ID page printed at its real size)."""
    try:
        x, y = (float(v) for v in image.info.get("dpi", ()))
    except (TypeError, ValueError):
        return {}
    return {"dpi": (x, y)} if 10 <= x <= 10000 and 10 <= y <= 10000 else {}
