"""Resize a batch of images on all cores... and break on Windows, macOS and Python 3.14+.

The pool is created while the module is imported. Under spawn/forkserver every worker re-imports
this file, tries to create a pool of its own, and fails. gillint reports GIL401 here.
"""
from multiprocessing import Pool


def thumbnail(size):
    width, height = size
    return width // 4, height // 4


SIZES = [(1920, 1080), (1280, 720), (800, 600)] * 100

with Pool() as pool:
    print(pool.map(thumbnail, SIZES)[:3])
