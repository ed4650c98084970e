"""Entry points of the sb-* executables: each module is a thin main(argv) -> int."""
