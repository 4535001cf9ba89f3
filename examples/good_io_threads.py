"""Threads are right for waiting: downloads, sleeps and hashing (which releases the GIL)."""
import hashlib
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

lock = threading.Lock()
total_bytes = 0


def fetch(url):
    global total_bytes
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read()
    with lock:
        total_bytes += len(body)
    return hashlib.sha256(body).hexdigest()


def heartbeat(stop):
    while not stop.is_set():
        time.sleep(1.0)


def main(urls):
    stop = threading.Event()
    beat = threading.Thread(target=heartbeat, args=(stop,), daemon=True)
    beat.start()
    with ThreadPoolExecutor(max_workers=8) as executor:
        digests = list(executor.map(fetch, urls))
    stop.set()
    return digests


if __name__ == "__main__":
    main(["https://example.org/"])
