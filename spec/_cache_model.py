"""The model the cache machine checks a target against, and the operations that judge it.

The model is one dict per version, ``key_token(key) -> Entry``, with typed identity under the
reference's key rules (1, True and 1.0 are different keys; -0.0 and 0.0 are one). Every failed
assertion names its clause. A clause the runner already decided is *disabled*: its assertion is
skipped and the model adopts what the target actually did, so later assertions judge the
target's real state instead of cascading.

Pass means judged: an operation whose result matched the model records a judgement for each
clause whose condition it evaluated (the clause it would have blamed had the result differed),
and nothing else. A get whose expected entry may rightly be gone (another version touched it)
judges nothing.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis.stateful import RuleBasedStateMachine

from ._compare import key_token, show, strict_equal
from ._harness import Asserter, error_name, judged, new_dir
from ._subject import VERSION, Subject, Target

RESULT_TIMEOUT = 30.0  # a single async result; the runner's global timeout covers hangs elsewhere
ABSENT = object()  #: what a probe get returns when the get itself raised


@dataclass
class Entry:
    """What the model expects one key to hold under one version."""

    key: Any
    value: Any
    certain: bool = True  #: False once another version touched the key (it may be gone)
    writer: int = 0  #: index of the instance that inserted it
    rejected: list[Any] = field(default_factory=list)  #: values refused by insert -> False
    foreign: bool = False  #: adopted from another version (VERSION-ISOLATED already failed)


class ModelCheckedCache(RuleBasedStateMachine):
    """Open instances of the target, the model, and get/insert checked against the model."""

    target: Target
    workdir: Path
    enabled: frozenset[str]
    caps: frozenset[str]

    def __init__(self) -> None:
        super().__init__()
        self.asserter = Asserter(self.enabled, getattr(type(self), "failures", None))
        self.storage_dir = new_dir(self.workdir, "machine")
        self.subjects: list[Subject] = [self.target.open(self.storage_dir)]
        self.has_version = VERSION in self.caps
        self.base_version = self.target.get_version() if self.has_version else 0
        self.version = self.base_version
        self.model: dict[int, dict[Any, Entry]] = {self.version: {}}
        self._executor: ThreadPoolExecutor | None = None

    # -- plumbing -------------------------------------------------------------------------------
    def teardown(self) -> None:
        for subject in self.subjects:
            try:
                subject.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self.has_version:
            self.target.set_version(self.base_version)
        # no rmtree here: deleting is slow on some disks; the runner removes the workdir

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(4)
        return self._executor

    def subject(self, index: int) -> tuple[int, Subject]:
        """(index, instance): any int picks one of the open instances."""
        index %= len(self.subjects)
        return index, self.subjects[index]

    def current_entries(self) -> dict[Any, Entry]:
        return self.model.setdefault(self.version, {})

    def unsettle_other_versions(self, tok: Any) -> None:
        """An operation on a key under this version may evict its entries of other versions."""
        for version, entries in self.model.items():
            if version != self.version and tok in entries:
                entries[tok].certain = False

    def switch(self, version: int) -> None:
        self.target.set_version(version)
        self.version = version
        self.model.setdefault(version, {})

    def raw_get(self, subject: Subject, key: Any) -> Any:
        try:
            return subject.get(key)
        except Exception:  # noqa: BLE001 - a probe; the failing operation was already judged
            return ABSENT

    # -- blame: which clause explains a value the model did not expect ---------------------------
    def blame_foreign(self, key: Any, got: Any, fallback: str) -> str:
        tok = key_token(key)
        for version, entries in self.model.items():
            entry = entries.get(tok)
            if version != self.version and entry is not None and strict_equal(entry.value, got):
                return "VERSION-ISOLATED"
        for other_tok, entry in self.current_entries().items():
            if other_tok != tok and strict_equal(entry.value, got):
                return "KEY-TYPED-DISTINCT" if _equal(entry.key, key) else "KEY-DISTINCT"
        return fallback

    def judge_no_merge(self, key: Any, expected: Any) -> None:
        """A get of ``key`` returned what the model expects: for every other entry holding a
        different value, the clause ``blame_foreign`` would have named held."""
        tok = key_token(key)
        for version, entries in self.model.items():
            other = entries.get(tok)
            if version != self.version and other is not None and \
                    not strict_equal(other.value, expected):
                judged("VERSION-ISOLATED")
                break
        distinct = typed = False
        for other_tok, entry in self.current_entries().items():
            if other_tok == tok or strict_equal(entry.value, expected):
                continue
            if _equal(entry.key, key):
                typed = True
            else:
                distinct = True
            if distinct and typed:
                break
        if distinct:
            judged("KEY-DISTINCT")
        if typed:
            judged("KEY-TYPED-DISTINCT")

    # -- get ------------------------------------------------------------------------------------
    def do_get(self, index: int, key: Any, how: str = "sync") -> Any:
        index, subject = self.subject(index)
        tok = key_token(key)
        self.unsettle_other_versions(tok)
        entry = self.current_entries().get(tok)
        async_clause = "ASYNC-GET" if how == "async" else None
        try:
            if how == "async":
                got = subject.get_async(key, self.executor).result(timeout=RESULT_TIMEOUT)
            else:
                got = subject.get(key)
        except Exception as err:  # noqa: BLE001
            clause = async_clause or ("CORE-GET-MISSING" if entry is None
                                      else "CORE-GET-INSERTED")
            self.asserter.fail(clause, f"get({show(key)}) raised {error_name(err)}")
            got = self.raw_get(subject, key)
            if got is ABSENT:
                return None
        if async_clause is not None:
            sync = self.raw_get(subject, key)
            if sync is not ABSENT and (sync is got or strict_equal(sync, got)):
                judged("ASYNC-GET")  # the future's result is what get returns
                async_clause = None  # any mismatch with the model is get's (a CORE- clause)
        self.judge_get(index, key, entry, got, async_clause)
        return got

    def judge_get(self, index: int, key: Any, entry: Entry | None, got: Any,
                  async_clause: str | None) -> None:
        tok = key_token(key)
        if entry is None:
            if got is None:
                self.judge_matched_get(index, key, None, async_clause)
                return
            clause = async_clause or self.blame_foreign(key, got, "CORE-GET-MISSING")
            self.asserter.fail(clause, f"get({show(key)}) returned {show(got)} for an absent key")
            self.current_entries()[tok] = Entry(key, copy.deepcopy(got), writer=index,
                                                foreign=clause == "VERSION-ISOLATED")
            return
        if got is None:
            if not entry.certain:  # it may rightly be gone: nothing was judged
                del self.current_entries()[tok]
                return
            clause = async_clause or ("DISK-PERSIST-REOPEN" if index != entry.writer
                                      else "CORE-GET-INSERTED")
            self.asserter.fail(clause, f"get({show(key)}) returned None, expected "
                               f"{show(entry.value)}")
            del self.current_entries()[tok]
            return
        if strict_equal(got, entry.value):
            entry.certain = True
            self.judge_matched_get(index, key, entry, async_clause)
            return
        if async_clause is not None:
            clause = async_clause
        elif any(strict_equal(got, refused) for refused in entry.rejected):
            clause = "CORE-INSERT-NO-OVERWRITE"
        else:
            clause = self.blame_foreign(key, got, "CORE-GET-INSERTED")
            if clause == "CORE-GET-INSERTED" and index != entry.writer:
                clause = "DISK-PERSIST-REOPEN"
        self.asserter.fail(clause, f"get({show(key)}) returned {show(got)}, expected "
                           f"{show(entry.value)}")
        entry.value, entry.certain = copy.deepcopy(got), True

    def judge_matched_get(self, index: int, key: Any, entry: Entry | None,
                          async_clause: str | None) -> None:
        """The get returned what the model expects: judge what that result decided."""
        if async_clause is not None:
            judged(async_clause)  # only get_async's result was compared (get disagreed)
            return
        if entry is None:
            judged("CORE-GET-MISSING")
            self.judge_no_merge(key, None)
            return
        judged("DISK-PERSIST-REOPEN" if index != entry.writer else "CORE-GET-INSERTED")
        if entry.rejected:  # an insert returned False earlier and the value stayed
            judged("CORE-INSERT-NO-OVERWRITE")
        self.judge_no_merge(key, entry.value)

    # -- insert ---------------------------------------------------------------------------------
    def do_insert(self, index: int, key: Any, value: Any, how: str = "sync") -> bool | None:
        """insert (or insert_async) checked against the model; None if it raised."""
        index, subject = self.subject(index)
        tok = key_token(key)
        self.unsettle_other_versions(tok)
        entry = self.current_entries().get(tok)
        async_clause = "ASYNC-INSERT" if how == "async" else None
        snapshot = copy.deepcopy(value)
        try:
            if how == "async":
                result = subject.insert_async(key, value, self.executor).result(
                    timeout=RESULT_TIMEOUT)
            else:
                result = subject.insert(key, value)
        except Exception as err:  # noqa: BLE001
            clause = async_clause or ("CORE-INSERT-NEW" if entry is None
                                      else "CORE-INSERT-NO-OVERWRITE")
            self.asserter.fail(clause, f"insert({show(key)}, {show(value)}) raised "
                               f"{error_name(err)}")
            self.resync(subject, key)
            return None
        self.judge_insert(index, subject, key, snapshot, entry, result, async_clause)
        return result

    def judge_insert(self, index: int, subject: Subject, key: Any, value: Any,
                     entry: Entry | None, result: Any, async_clause: str | None) -> None:
        tok = key_token(key)
        if result is not True and result is not False:
            self.asserter.fail(async_clause or "CORE-INSERT-NEW",
                               f"insert({show(key)}) returned {result!r}, not a bool")
            self.resync(subject, key)
            return
        # a wrong bool from insert_async is judged as insert's (CORE-/KEY-/VERSION-); a right
        # one is what insert would have returned
        matched = "ASYNC-INSERT" if async_clause else None
        other_version = any(tok in entries for version, entries in self.model.items()
                            if version != self.version)
        if entry is None or not entry.certain:
            if result:
                self.current_entries()[tok] = Entry(key, value, writer=index)
                if entry is None:  # (an uncertain entry may still have been there)
                    judged("CORE-INSERT-NEW")
                if other_version:
                    judged("VERSION-INSERTABLE")
                if matched:
                    judged(matched)
                return
            if entry is not None:
                # False says "present": this version's entry survived, unless another version's
                # entry is what refused the insert (then this one is gone: look before judging)
                probe = self.raw_get(subject, key) if other_version else entry.value
                if probe is None or probe is ABSENT or not strict_equal(probe, entry.value):
                    self.refused_absent(subject, key, value, other_version)
                    return
                entry.certain = True
                entry.rejected.append(value)
                return
            self.refused_absent(subject, key, value, other_version)
            return
        if entry.foreign:
            if not result:
                self.asserter.fail("VERSION-INSERTABLE", f"insert({show(key)}) returned False "
                                   "after a version change: the other version's entry was not "
                                   "replaced")
                entry.rejected.append(value)
                return
            self.current_entries()[tok] = Entry(key, value, writer=index)
            judged("VERSION-INSERTABLE")
            return
        if result:
            self.asserter.fail("CORE-INSERT-NO-OVERWRITE", f"insert({show(key)}, {show(value)}) "
                               f"returned True but the key held {show(entry.value)}")
            self.resync(subject, key)
            return
        entry.rejected.append(value)  # CORE-INSERT-NO-OVERWRITE is judged when a get shows it
        if matched:
            judged(matched)

    def refused_absent(self, subject: Subject, key: Any, value: Any,
                       other_version: bool) -> None:
        """insert of a key the model says is absent returned False: blame the likeliest clause."""
        probe = self.raw_get(subject, key)
        if other_version:
            clause = "VERSION-INSERTABLE"  # the other version's entry blocks it
        elif probe is None or probe is ABSENT or strict_equal(probe, value):
            clause = "CORE-INSERT-NEW"  # not stored, or stored but said False
        else:
            clause = self.blame_foreign(key, probe, "CORE-INSERT-NEW")
        self.asserter.fail(clause, f"insert({show(key)}, {show(value)}) of an absent key "
                           f"returned False (get now returns "
                           f"{show(None if probe is ABSENT else probe)})")
        self.resync(subject, key)

    def resync(self, subject: Subject, key: Any) -> None:
        """Adopt the target's actual state for ``key`` (after a disabled assertion)."""
        got = self.raw_get(subject, key)
        tok = key_token(key)
        if got is None or got is ABSENT:
            self.current_entries().pop(tok, None)
        else:
            self.current_entries()[tok] = Entry(key, copy.deepcopy(got),
                                                writer=self.subjects.index(subject))

    def read_back_all(self, index: int) -> None:
        """Every entry of the current version is visible through instance ``index``."""
        for entry in list(self.current_entries().values()):
            if entry.certain:
                self.do_get(index, entry.key)


def _equal(a: Any, b: Any) -> bool:
    """``a == b``, False if comparing raises (a foreign key type)."""
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False
