"""The right way: CPU work on a process pool, a module-level function, under the main guard."""
from concurrent.futures import ProcessPoolExecutor


def sum_of_squares(n):
    return sum(i * i for i in range(n))


def main():
    with ProcessPoolExecutor(max_workers=2) as executor:
        print(list(executor.map(sum_of_squares, [3_000_000, 3_000_000])))


if __name__ == "__main__":
    main()
