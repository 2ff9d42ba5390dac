"""Thread bursts for the cache machine: threads insert their own keys at once and read them
back, each outcome judged under its own clause (an insert that raised is named with its error
and never blamed on the get after it).
"""

from __future__ import annotations

import threading
from typing import Any

from ._cache_model import RESULT_TIMEOUT, ModelCheckedCache
from ._compare import key_token, show, strict_equal
from ._harness import error_name, fast_switching
from ._subject import RICH_VALUES, Subject


class BurstingCache(ModelCheckedCache):
    """The model-checked cache plus thread bursts."""

    def tagged(self, value: Any, tag: str) -> Any:
        """A value that says where it came from (so a merged pair shows whose value came back)."""
        if RICH_VALUES in self.caps:
            return [tag, value]
        return tag.encode() + value

    # -- threads ---------------------------------------------------------------------------------
    def burst(self, index: int, keys: list[Any], value: Any) -> None:
        """Threads insert their own keys at once, then read them and the keys present before.

        No two threads touch one absent key, so a correct target's outcome is deterministic and
        Hypothesis can replay it (same-key races live in the race-threads check).
        """
        if not keys:
            return
        _, subject = self.subject(index)
        present = [entry.key for entry in self.current_entries().values() if entry.certain][:4]
        inserted: dict[int, Any] = {}  #: thread -> insert's result, or the exception it raised
        reads: dict[int, list[Any]] = {}  #: thread -> get results (own key, then present keys)
        barrier = threading.Barrier(len(keys))

        def worker(n: int) -> None:
            barrier.wait(timeout=10)
            try:
                inserted[n] = subject.insert(keys[n], self.tagged(value, f"burst {n}"))
            except Exception as err:  # noqa: BLE001
                inserted[n] = err
                return
            try:
                reads[n] = [subject.get(k) for k in [keys[n], *present]]
            except Exception as err:  # noqa: BLE001
                reads[n] = [err]

        threads = [threading.Thread(target=worker, args=(n,), daemon=True)
                   for n in range(len(keys))]
        with fast_switching():
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=RESULT_TIMEOUT)
        if any(thread.is_alive() for thread in threads):
            self.asserter.fail("CORE-INSERT-NEW", "a thread of a burst did not finish within 30 s")
        for n, key in enumerate(keys):
            self.judge_burst_thread(subject, len(keys), key, self.tagged(value, f"burst {n}"),
                                    inserted.get(n), reads.get(n, []), present)

    def judge_burst_thread(self, subject: Subject, threads: int, key: Any, want: Any, result: Any,
                           reads: list[Any], present: list[Any]) -> None:
        """One burst thread's insert and reads, each judged under its own clause."""
        if isinstance(result, BaseException):
            # the get after it never ran: nothing to say about CORE-GET-INSERTED
            self.asserter.fail("CORE-INSERT-NEW", f"insert({show(key)}, {show(want)}) from one "
                               f"of {threads} threads inserting distinct keys raised "
                               f"{error_name(result)}")
            self.resync(subject, key)
            return
        self.asserter.check("CORE-INSERT-NEW", result is True, lambda: (
            f"insert({show(key)}) from one of {threads} threads inserting distinct keys "
            f"returned {show(result)}"))
        if reads and isinstance(reads[0], BaseException):
            self.asserter.fail("CORE-GET-INSERTED", f"a thread's get({show(key)}) right after "
                               f"its insert returned True raised {error_name(reads[0])}")
        elif result is True and reads:
            self.asserter.check("CORE-GET-INSERTED", strict_equal(reads[0], want), lambda: (
                f"a thread's get({show(key)}) right after its insert returned True returned "
                f"{show(reads[0])}"))
            for other, got in zip(present, reads[1:]):
                entry = self.current_entries().get(key_token(other))
                self.asserter.check(
                    "CORE-GET-INSERTED", entry is None or strict_equal(got, entry.value),
                    lambda: f"get({show(other)}) from a burst thread returned {show(got)}")
        self.resync(subject, key)
