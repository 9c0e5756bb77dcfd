"""Run one job count times over a number of client threads, as smtp-source spreads its
messages over sessions: the benchmarks' own clients (bench/anchor's STARTTLS sessions,
bench/tls-ceiling). Contract: returns the seconds taken; the first RuntimeError or OSError a
job raises stops the others from starting and ends the benchmark with that error."""
import sys
import threading
import time


def run_threaded(job, count, threads, what):
    """job() count times over threads threads; seconds. what names the jobs in the error."""
    left, lock, errors = [count], threading.Lock(), []

    def worker():
        while True:
            with lock:
                if left[0] == 0 or errors:
                    return
                left[0] -= 1
            try:
                job()
            except (RuntimeError, OSError) as e:
                errors.append(e)
    t0 = time.monotonic()
    ths = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    if errors:
        sys.exit(f"{what} failed: {errors[0]}")
    return time.monotonic() - t0
