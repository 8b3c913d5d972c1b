"""Run every benchmark and print its figures: ``python -m bench`` (or ``make bench``)."""

from __future__ import annotations

from bench import allocation, import_people, markers, pages, results_engine


def main() -> None:
    import_people.main([])
    print()
    allocation.main([])
    print()
    markers.main([])
    print()
    results_engine.main([])
    print()
    pages.main([])


if __name__ == "__main__":
    main()
