"""Four threads bump a global counter with no lock: updates can be lost (GIL301), and no speed-up (GIL101)."""
import threading

hits = 0


def record(n):
    global hits
    for _ in range(n):
        hits += 1


def main():
    threads = [threading.Thread(target=record, args=(20_000,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(hits)


if __name__ == "__main__":
    main()
