"""Compare an extraction (long CSV) with expected strings: per page, how many expected strings were
read exactly (each read string used once). Exit 0 only when every expected string was read."""

import sys
from collections import Counter

from extractor.records import read_csv


def compare(results_path, expected_path):
    results = read_csv(results_path)
    expected = read_csv(expected_path)
    found = total = 0
    misses = []
    for (source, page), want in expected.groupby(["source", "page"]):
        got = results[(results["source"] == source) & (results["page"] == page)]
        pool = Counter(got["text"])
        for text in want["text"]:
            total += 1
            if pool[text] > 0:
                pool[text] -= 1
                found += 1
            else:
                misses.append(f"{source} p{page}: expected {text}")
    return found, total, misses


if __name__ == "__main__":
    found, total, misses = compare(sys.argv[1], sys.argv[2])
    print(f"{found} of {total} expected strings read exactly ({sys.argv[1]} vs {sys.argv[2]})")
    for miss in misses:
        print("  missed:", miss)
    sys.exit(0 if found == total else 1)
