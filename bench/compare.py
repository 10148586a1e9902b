"""Compare an extraction (long CSV) with expected strings: per page, how many expected strings were
read exactly (each read string used once). Exit 0 only when every expected string was read."""

import sys

from extractor.evaluate import compare_with_expected

if __name__ == "__main__":
    found, total, misses = compare_with_expected(sys.argv[1], sys.argv[2])
    print(f"{found} of {total} expected strings read exactly ({sys.argv[1]} vs {sys.argv[2]})")
    for miss in misses:
        print("  missed:", miss)
    sys.exit(0 if found == total else 1)
