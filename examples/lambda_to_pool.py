"""A lambda and an open file sent to a process pool cannot be pickled (GIL201, GIL202)."""
from concurrent.futures import ProcessPoolExecutor


def count_lines(handle):
    return sum(1 for _ in handle)


def main():
    with ProcessPoolExecutor() as executor:
        doubled = list(executor.map(lambda x: x * 2, range(10)))
        with open(__file__) as handle:
            lines = executor.submit(count_lines, handle).result()
    print(doubled, lines)


if __name__ == "__main__":
    main()
