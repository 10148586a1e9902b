import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from extractor.errors import InputError
from extractor.pages import MAX_PIXELS, find_inputs, load_pages


def page_image():
    img = np.full((120, 200), 255, np.uint8)
    img[30:90, 50:60] = 0
    return img


def test_loads_png_jpeg_bmp_and_every_tiff_frame(tmp_path):
    Image.fromarray(page_image()).save(tmp_path / "a.png", dpi=(300, 300))
    Image.fromarray(page_image()).save(tmp_path / "b.jpg")
    Image.fromarray(page_image()).save(tmp_path / "c.bmp")
    frames = [Image.fromarray(page_image()) for _ in range(3)]
    frames[0].save(tmp_path / "d.tif", save_all=True, append_images=frames[1:])
    assert load_pages(tmp_path / "a.png")[0].dpi == pytest.approx(300, abs=1)
    assert load_pages(tmp_path / "b.jpg")[0].image.shape == (120, 200)
    assert load_pages(tmp_path / "c.bmp")[0].image[60, 55] == 0
    assert [p.number for p in load_pages(tmp_path / "d.tif")] == [1, 2, 3]


def test_sixteen_bit_and_transparent_images_become_ink_on_paper(tmp_path):
    deep = (page_image().astype(np.uint16) * 257)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert load_pages(tmp_path / "deep.png")[0].image[60, 55] == 0
    rgba = np.zeros((120, 200, 4), np.uint8)  # transparent everywhere except a black stroke
    rgba[30:90, 50:60] = (0, 0, 0, 255)
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    image = load_pages(tmp_path / "alpha.png")[0].image
    assert image[0, 0].min() == 255 and image[60, 55].max() == 0


def test_pdf_pages_render(tmp_path):
    pages = [Image.fromarray(page_image()) for _ in range(2)]
    pages[0].save(tmp_path / "two.pdf", "PDF", resolution=100, save_all=True, append_images=pages[1:])
    loaded = load_pages(tmp_path / "two.pdf", dpi=150)
    assert [p.number for p in loaded] == [1, 2]
    assert loaded[0].dpi == 150 and loaded[0].image.shape[0] == pytest.approx(180, abs=2)


def huge_png_header(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) + chunk(b"IEND", b"")


def encrypted_pdf():
    """A one-page PDF whose trailer says it is encrypted with a password we do not have."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
            b"<< /Filter /Standard /V 1 /R 2 /O <" + b"00" * 32 + b"> /U <" + b"11" * 32 + b"> /P -4 >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += (b"trailer\n<< /Size 5 /Root 1 0 R /Encrypt 4 0 R /ID [<" + b"ab" * 16 + b"> <" + b"ab" * 16
            + b">] >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return out


@pytest.mark.parametrize("name, content, message", [
    ("locked.pdf", encrypted_pdf(), "encrypted"),
    ("empty.png", b"", "empty file"),
    ("text.png", b"hello, I am not an image\n", "not an image"),
    ("truncated.png", None, "corrupt or truncated"),
    ("tiny.png", "1x1", "too small"),
    ("huge.png", huge_png_header(20000, 10000), "megapixels"),
    ("corrupt.pdf", b"%PDF-1.4\n1 0 obj garbage\n", "PDF"),
])
def test_bad_files_raise_one_line_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        Image.fromarray(page_image()).save(path)
        path.write_bytes(path.read_bytes()[:60])
    elif content == "1x1":
        Image.new("L", (1, 1), 255).save(path)
    else:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        load_pages(path)
    assert "\n" not in str(info.value)
    assert MAX_PIXELS < 20000 * 10000


def test_a_png_cut_in_half_is_one_error_and_no_library_chatter(tmp_path, capfd):
    """PNGs are decoded by OpenCV, whose libpng writes its own complaint on stderr: a damaged file
    still ends as one clean error, said once, by us."""
    path = tmp_path / "half.png"
    Image.fromarray(page_image()).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError, match="corrupt or truncated"):
        load_pages(path)
    assert capfd.readouterr().err == ""


def test_folders_are_walked_sorted_with_loops_and_lookalikes_handled(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "scan.png").mkdir()  # a folder named like an image
    Image.fromarray(page_image()).save(tmp_path / "b" / "2.png")
    Image.fromarray(page_image()).save(tmp_path / "1.png")
    (tmp_path / "notes.txt").write_text("skip me")
    os.symlink(tmp_path, tmp_path / "b" / "loop")
    found = find_inputs([tmp_path])
    assert [i.source for i in found.items] == ["1.png", "b/2.png"]
    assert found.skipped == ["notes.txt"]  # not read, but named
    missing = find_inputs([tmp_path / "nope.png"])
    assert missing.items[0].error == "no such file or folder"
