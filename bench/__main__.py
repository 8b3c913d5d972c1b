"""Run every benchmark and print its figures: ``python -m bench`` (or ``make bench``)."""

from __future__ import annotations

from bench import allocation, feedback_pdfs, import_people, markers, pages, posters, results_engine


def main() -> None:
    import_people.main([])
    print()
    allocation.main([])
    print()
    markers.main([])
    print()
    results_engine.main([])
    print()
    posters.main([])
    print()
    pages.main([])
    print()
    feedback_pdfs.main([])


if __name__ == "__main__":
    main()
