#!/usr/bin/env python3
"""Writes the hostile folder of issue 15 (item 7) into DIR: 30 files that once took the ingest worker
hostage or probe its edges — tiny headings, one giant word, huge lines, binary and invalid UTF-8,
deep nesting (folders, lists, quotes, JSON), pathological Markdown and HTML, a YAML alias bomb, a
50,000-row FAQ. Deterministic (no randomness), about 25 MB in total.

Used by `crates/ingest/tests/it/hostile.rs` (the test) and `benches/hostile/run.sh` (the benchmark).

    python3 benches/hostile/gen.py DIR
"""
import os
import sys


def write(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def pseudo_random(n, seed=7):
    out = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = (x >> 16) & 0xFF
    return bytes(out)


def main(root):
    os.makedirs(root, exist_ok=True)
    # 1. 20,000 tiny headings, one line each (about 600 KB).
    write(root, "tiny-headings.md", "".join(f"## Heading {i}\n\nLine {i} of the notes.\n\n" for i in range(20_000)))
    # 2-3. One "word": 12 MB of text with no whitespace, and a Markdown page holding 2 MB of one.
    write(root, "one-word.txt", "abcdefghij" * 1_200_000)
    write(root, "one-word.md", "# Blob\n\n" + "x" * 2_000_000 + "\n")
    # 4. Huge lines: three 1 MB lines of ordinary words.
    write(root, "huge-lines.txt", "\n".join(("lorem ipsum dolor sit amet " * 40_000) for _ in range(3)))
    # 5-8. Binary and broken encodings.
    write(root, "binary.md", b"# Title\n\n" + b"\x00\x01\x02binary\x00" * 10_000)
    write(root, "binary.txt", pseudo_random(300_000))
    write(root, "invalid-utf8.md", b"# Broken\n\nhello \xff\xfe world\n")
    write(root, "fake.pdf", b"%PDF-1.7\n" + pseudo_random(50_000, 3))
    # 9-10. Deeply nested lists and block quotes.
    write(root, "deep-list.md", "".join("  " * i + f"- item {i}\n" for i in range(1_000)))
    write(root, "nested-quotes.md", "> " * 10_000 + "deep\n")
    # 11. A page 40 folders deep.
    write(root, "/".join(f"d{i}" for i in range(40)) + "/deep-page.md", "# Deep page\n\nFound at the bottom.\n")
    # 12-13. Empty and whitespace-only.
    write(root, "empty.md", "")
    write(root, "whitespace.txt", " \n\t\n   \n")
    # 14. An unclosed code fence holding 1 MB.
    write(root, "unclosed-fence.md", "# Code\n\n```\n" + "let x = 1;\n" * 100_000)
    # 15-16. Pathological inline syntax.
    write(root, "brackets.md", "[" * 200_000 + "]" * 200_000 + "\n")
    write(root, "emphasis.md", "*a " * 100_000 + "\n")
    # 17. One letter with 500,000 combining marks.
    write(root, "zalgo.txt", "Zalgo\n\na" + "\u0301" * 500_000 + "\n")
    # 18. A 200 KB heading.
    write(root, "long-heading.md", "# " + "heading " * 25_000 + "\n\nUnder a very long heading.\n")
    # 19. 10,000 headings cycling through every level, one line each.
    write(root, "cycling-headings.md", "".join("#" * (i % 6 + 1) + f" Level {i}\n\nText {i}.\n\n" for i in range(10_000)))
    # 20. A table 3,000 columns wide.
    head = "|" + "|".join(f"c{i}" for i in range(3_000)) + "|\n"
    rule = "|" + "|".join("---" for _ in range(3_000)) + "|\n"
    rows = "".join("|" + "|".join(str(r * i) for i in range(3_000)) + "|\n" for r in range(20))
    write(root, "wide-table.md", head + rule + rows)
    # 21-22. HTML: 20,000 nested divs; a 2 MB script around a small main.
    write(root, "nested-divs.html", "<html><body>" + "<div>" * 20_000 + "deep text" + "</div>" * 20_000 + "</body></html>")
    write(root, "big-script.html", "<html><head><script>" + "var a=1;" * 250_000 + "</script></head>"
          "<body><main><h1>Script page</h1><p>Small content after a big script.</p></main></body></html>")
    # 23-24. FAQ data: JSON nested 100,000 deep; CSV with 50,000 rows.
    write(root, "deep.json", "[" * 100_000 + "]" * 100_000)
    write(root, "faq-huge.csv", "question,answer\n" + "".join(f"Question {i}?,Answer number {i}.\n" for i in range(50_000)))
    # 25-27. Control characters, a byte-order mark alone, 200,000 CRLF lines of one character.
    write(root, "control.txt", "".join(chr(c % 31 + 1) for c in range(100_000)))
    write(root, "bom-only.md", "\ufeff  \n")
    write(root, "crlf-lines.txt", "x\r\n" * 200_000)
    # 28. An unsupported type.
    write(root, "tool.exe", pseudo_random(1_000, 5))
    # 29. A unicode file name with spaces (ordinary content).
    write(root, "naïve notes ünïcödé.md", "# Naïve notes\n\nOrdinary content in a file with an unusual name.\n")
    # 30. A YAML alias bomb in the front matter.
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    write(root, "yaml-bomb.md", "---\n" + bomb + "title: Bomb\n---\n\n# Bomb\n\nBody text.\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: gen.py DIR")
    main(sys.argv[1])
