"""The loader state machine: build in-memory caches with from_env_var / from_file_path from the
pairs gathered so far, well-formed (round trips) and broken in every documented way.

One class serves both loaders; ``make_loader_machine(..., which="env"|"file")`` picks the rules.
"""

from __future__ import annotations

import os
import pickle
import random
import shutil
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from ._limits import limits_of
from ._subject import TYPED_KEYS, Subject, Target

from . import _strategies as strategies
from ._compare import show, strict_equal
from ._harness import Asserter, error_name, new_dir


class _Evil:
    """Pickles to a call of os.mkdir(marker): loading it must not create the marker."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (os.mkdir, (str(self.marker),))


def evil_pickle(marker: Path) -> bytes:
    return pickle.dumps(_Evil(marker))


def plain_pair(k: Any, v: Any) -> bool:
    kr, vr = repr(pickle.dumps(k)), repr(pickle.dumps(v))
    return "," not in kr and ";" not in kr + vr


ENV_MALFORMED = ("no-comma", "bad-literal", "not-bytes", "bad-pickle", "truncated", "empty")
FILE_MALFORMED = ("reversed", "truncated", "random", "empty")


def scan_pairs(caps: frozenset[str]) -> list[tuple[Any, Any]]:
    """Pairs whose pickles' reprs hold ',' or ';': a str or bytes of length 44 (',') or 59
    (';') pickles its length as that byte, and b',;' holds both."""
    pairs: list[tuple[Any, Any]] = [("cachespec-plain", b"plain"), ("x" * 44, b",;"),
                                    ("x" * 59, b"y" * 44), ("cachespec-scan", b"z" * 59)]
    if TYPED_KEYS in caps:
        pairs += [(b",;", b"w" * 44), (("a", "x" * 44), b"v" * 59)]
    return pairs


def env_pair(kb: bytes, vb: bytes, ws: str = "") -> str:
    return f"{ws}{kb!r}{ws},{ws}{vb!r}{ws}"


class LoaderMachine(RuleBasedStateMachine):
    target: Target
    workdir: Path
    enabled: frozenset[str]
    caps: frozenset[str]

    def __init__(self) -> None:
        super().__init__()
        self.asserter = Asserter(self.enabled, getattr(type(self), "failures", None))
        self.dir = new_dir(self.workdir, "loader")
        self.env_var = f"CACHESPEC_LOADER_{os.getpid()}_{self.dir.name.replace('-', '_')}"
        # pairs unique under == as well as typed identity: loaders of dict-based caches would
        # rightly see 1 and True as one key with two values, which is a KEY- matter, not LOAD-
        self.pairs: dict[Any, tuple[Any, Any]] = {}
        self.loads = 0  #: files and markers written so far (each gets a fresh name)

    def teardown(self) -> None:
        os.environ.pop(self.env_var, None)
        shutil.rmtree(self.dir, ignore_errors=True)

    def add(self, k: Any, v: Any) -> None:
        try:
            if k in self.pairs:
                return
        except TypeError:
            return
        self.pairs[k] = (k, v)

    def some_pairs(self, scan: bool = False) -> list[tuple[Any, Any]]:
        """The pairs so far; unless ``scan``, only those the documented format can carry (split
        on ';' then on the first ',': no ',' in the key's repr, no ';' anywhere)."""
        pairs = list(self.pairs.values())
        if not scan:
            pairs = [(k, v) for k, v in pairs if plain_pair(k, v)]
        return pairs or [("cachespec", b"x")]

    # -- running a loader ----------------------------------------------------------------------
    def load_env(self, text: str) -> tuple[Subject | None, BaseException | None]:
        os.environ[self.env_var] = text
        try:
            return self.target.from_env_var(self.env_var), None
        except Exception as err:  # noqa: BLE001
            return None, err
        finally:
            os.environ.pop(self.env_var, None)

    def load_file(self, data: bytes | None) -> tuple[Subject | None, BaseException | None]:
        self.loads += 1
        path = self.dir / f"cache-{self.loads}.pkl"
        if data is not None:
            path.write_bytes(data)
        try:
            return self.target.from_file_path(path), None
        except Exception as err:  # noqa: BLE001
            return None, err

    def check_loaded(self, clause: str, what: str, loaded: Subject | None,
                     err: BaseException | None, pairs: list[tuple[Any, Any]]) -> None:
        self.asserter.check(clause, err is None,
                     lambda: f"{what} raised {error_name(err)}")  # type: ignore[arg-type]
        if loaded is None:
            return
        for k, v in pairs:
            try:
                got = loaded.get(k)
            except Exception as e:  # noqa: BLE001
                self.asserter.fail(clause, f"{what}: get({show(k)}) raised {error_name(e)}")
                continue
            self.asserter.check(clause, strict_equal(got, v), lambda: (
                f"{what}: get({show(k)}) returned {show(got)}, expected {show(v)}"))
            try:
                again = loaded.insert(k, strategies.failing_value(0)[:2])
            except Exception as e:  # noqa: BLE001
                again = e
            self.asserter.check(clause, again is False, lambda: (
                f"{what}: insert of loaded key {show(k)} returned {show(again)}"))

    def expect_error(self, clause: str, what: str, loaded: Subject | None,
                     err: BaseException | None) -> None:
        if err is None:
            self.asserter.fail(clause, f"{what} was accepted (expected CacheError)")
        elif not isinstance(err, self.target.error_type):
            # the clause promises CacheError, and so does ERROR-ONLY-CACHEERROR: both are broken
            msg = f"{what} raised {error_name(err)}, not CacheError"
            self.asserter.fail(clause if self.asserter.on(clause) else "ERROR-ONLY-CACHEERROR", msg)
        else:  # refused with CacheError: both promises held
            self.asserter.check(clause, True, "")
            self.asserter.check("ERROR-ONLY-CACHEERROR", True, "")

    def check_empty(self, clause: str, what: str, loaded: Subject | None,
                    err: BaseException | None) -> None:
        self.asserter.check(clause, err is None,
                     lambda: f"{what} raised {error_name(err)}")  # type: ignore[arg-type]
        if loaded is not None:
            for k, _ in self.some_pairs()[:3]:
                got = loaded.get(k)
                self.asserter.check(clause, got is None, lambda: f"{what}: get({show(k)}) -> {show(got)}")

    def check_no_code(self, clause: str, what: str, marker: Path, loaded: Subject | None,
                      err: BaseException | None) -> None:
        ran = marker.exists()
        self.asserter.check(clause, not ran, f"{what}: loading ran code from the payload (os.mkdir)")
        self.asserter.check(clause, err is not None, f"{what}: a payload referencing os.mkdir was "
                     "accepted")
        if err is not None and not ran:
            self.asserter.check("ERROR-ONLY-CACHEERROR", isinstance(err, self.target.error_type),
                         lambda: f"{what} raised {error_name(err)}, not CacheError")


def make_loader_machine(target: Target, workdir: Path, enabled: frozenset[str], which: str
                        ) -> type[LoaderMachine]:
    caps = frozenset(target.capabilities)
    limits = limits_of(target)
    keys_s = strategies.keys(caps).filter(limits.key_fits)
    values_s = strategies.values(caps).filter(limits.value_fits)
    position = st.integers(0, 2**16)  #: where a bad or conflicting pair goes

    class EnvLoaderMachine(LoaderMachine):
        @rule(k=keys_s, v=values_s)
        def add_pair(self, k: Any, v: Any) -> None:
            self.add(k, v)

        @rule(ws=st.sampled_from(["", " ", "\t", "  "]), trailing=st.booleans(),
              repeat=st.booleans(), scan=st.booleans())
        def roundtrip(self, ws: str, trailing: bool, repeat: bool, scan: bool) -> None:
            pairs = self.some_pairs(scan)
            scan = scan and not all(plain_pair(k, v) for k, v in pairs)
            items = [env_pair(pickle.dumps(k), pickle.dumps(v), ws) for k, v in pairs]
            if repeat:
                items = items + items[::-1]
            text = ";".join(items) + (";" if trailing else "")
            loaded, err = self.load_env(text)
            clause = ("LOAD-ENV-SCAN" if scan else
                      "LOAD-ENV-DUPLICATES" if repeat else "LOAD-ENV-ROUNDTRIP")
            self.check_loaded(clause, f"from_env_var({text[:80]!r}...)", loaded, err, pairs)

        @rule(text=st.sampled_from([None, "", " ", ";", " ; ;", ";;\n"]))
        def missing(self, text: str | None) -> None:
            if text is None:
                os.environ.pop(self.env_var, None)
                try:
                    loaded, err = self.target.from_env_var(self.env_var), None
                except Exception as e:  # noqa: BLE001
                    loaded, err = None, e
            else:
                loaded, err = self.load_env(text)
            self.check_empty("LOAD-ENV-MISSING", f"from_env_var with value {text!r}", loaded, err)

        @rule(kind=st.sampled_from(ENV_MALFORMED), at=position)
        def malformed(self, kind: str, at: int) -> None:
            pairs = [env_pair(pickle.dumps(k), pickle.dumps(v)) for k, v in self.some_pairs()]
            k, v = self.some_pairs()[at % len(pairs)]
            kb, vb = pickle.dumps(k), pickle.dumps(v)
            bad, clause = {
                "no-comma": (f"{kb!r}{vb!r}", "LOAD-ENV-NO-COMMA"),
                "bad-literal": (f"{kb!r}/,{vb!r}/", "LOAD-ENV-BAD-LITERAL"),
                "not-bytes": (f"{kb!r},__import__('os')", "LOAD-ENV-BAD-LITERAL"),
                "bad-pickle": (f"{kb[::-1]!r},{vb[::-1]!r}", "LOAD-ENV-BAD-PICKLE"),
                "truncated": (f"{kb!r},{vb[:-2]!r}", "LOAD-ENV-BAD-PICKLE"),
                "empty": (f"{kb!r},{b''!r}", "LOAD-ENV-BAD-PICKLE"),
            }[kind]
            pairs.insert(at % (len(pairs) + 1), bad)
            text = ";".join(pairs)
            loaded, err = self.load_env(text)
            self.expect_error(clause, f"from_env_var with a {kind} pair {bad[:80]!r}", loaded, err)

        @rule(at=position, v=values_s)
        def conflict(self, at: int, v: Any) -> None:
            pairs = self.some_pairs()
            k, v0 = pairs[at % len(pairs)]
            other = [v0, "other"] if not isinstance(v0, bytes) else v0 + b"-other"
            items = [env_pair(pickle.dumps(a), pickle.dumps(b)) for a, b in pairs]
            items.insert(at % (len(items) + 1), env_pair(pickle.dumps(k), pickle.dumps(other)))
            loaded, err = self.load_env(";".join(items))
            self.expect_error("LOAD-ENV-DUPLICATES", f"from_env_var with key {show(k)} mapped "
                              f"to {show(v0)} and {show(other)}", loaded, err)

        @rule(in_key=st.booleans())
        def code(self, in_key: bool) -> None:
            self.loads += 1
            marker = self.dir / f"ran-{self.loads}"
            evil = evil_pickle(marker)
            k, v = self.some_pairs()[0]
            item = env_pair(evil, pickle.dumps(v)) if in_key else env_pair(pickle.dumps(k), evil)
            loaded, err = self.load_env(item)
            self.check_no_code("SAFE-LOAD-ENV-NO-CODE", "from_env_var", marker, loaded, err)

        def tour(self) -> None:
            """Every rule once with fixed data, outside Hypothesis (see run_loader_tour)."""
            for k, v in scan_pairs(self.caps):
                self.add(k, v)
            self.roundtrip("", False, False, False)
            self.roundtrip(" ", True, True, False)
            self.roundtrip("", False, False, True)  # pickles whose repr holds ',' and ';'
            for text in (None, "", ";"):
                self.missing(text)
            for at in (0, 1):  # the bad pair first, then after a good one
                for kind in ENV_MALFORMED:
                    self.malformed(kind, at)
            self.conflict(0, b"")
            self.code(True)
            self.code(False)

    class FileLoaderMachine(LoaderMachine):
        @rule(k=keys_s, v=values_s)
        def add_pair(self, k: Any, v: Any) -> None:
            self.add(k, v)

        @rule()
        def roundtrip(self) -> None:
            pairs = self.some_pairs()
            loaded, err = self.load_file(pickle.dumps(dict(pairs)))
            self.check_loaded("LOAD-FILE-ROUNDTRIP", "from_file_path(pickled dict)", loaded, err,
                              pairs)

        @rule()
        def missing(self) -> None:
            loaded, err = self.load_file(None)
            self.check_empty("LOAD-FILE-MISSING", "from_file_path(a path with no file)", loaded,
                             err)

        @rule(kind=st.sampled_from(FILE_MALFORMED), seed=st.integers(0, 2**16))
        def bad_pickle(self, kind: str, seed: int) -> None:
            good = pickle.dumps(dict(self.some_pairs()))
            data = {"reversed": good[::-1], "truncated": good[: max(len(good) // 2, 1)],
                    "random": random.Random(seed).randbytes(64), "empty": b""}[kind]
            loaded, err = self.load_file(data)
            self.expect_error("LOAD-FILE-BAD-PICKLE", f"from_file_path({kind} pickle bytes "
                              f"{data[:40]!r})", loaded, err)

        @rule(obj=st.sampled_from([[1, 2, 3], (1, 2), "dict", None, 7, {1, 2}]))
        def not_dict(self, obj: Any) -> None:
            loaded, err = self.load_file(pickle.dumps(obj))
            self.expect_error("LOAD-FILE-NOT-DICT", f"from_file_path(pickled {obj!r})", loaded,
                              err)

        @rule(in_key=st.booleans())
        def code(self, in_key: bool) -> None:
            self.loads += 1
            marker = self.dir / f"ran-{self.loads}"
            k, v = self.some_pairs()[0]
            payload = {_Evil(marker): v} if in_key else {k: _Evil(marker)}
            try:
                data = pickle.dumps(payload)
            except TypeError:  # unhashable cannot happen for _Evil; keep mypy calm
                return
            loaded, err = self.load_file(data)
            self.check_no_code("SAFE-LOAD-FILE-NO-CODE", "from_file_path", marker, loaded, err)

        def tour(self) -> None:
            """Every rule once with fixed data, outside Hypothesis (see run_loader_tour)."""
            for k, v in scan_pairs(self.caps):
                self.add(k, v)
            self.roundtrip()
            self.missing()
            for kind in FILE_MALFORMED:
                self.bad_pickle(kind, 0)
            for obj in ([1, 2, 3], None):
                self.not_dict(obj)
            self.code(True)
            self.code(False)

    cls: type[LoaderMachine] = EnvLoaderMachine if which == "env" else FileLoaderMachine
    cls.target, cls.workdir, cls.enabled, cls.caps = target, workdir, enabled, caps
    return cls


LOADER_TOUR_PROGRAM = """state = {name}()
state.tour()  # every rule once with fixed data (pairs whose reprs hold ',' and ';', every
              # malformed kind before and after a good pair)
state.teardown()"""


def run_loader_tour(machine: type[LoaderMachine]) -> tuple[str, str, str] | None:
    """Run the loader tour once, outside Hypothesis: (clause id, message, program) of its first
    failure, so the fixed inputs are met in every run whatever Hypothesis draws."""
    from ._harness import ClauseFailure

    m = machine()
    try:
        m.tour()  # type: ignore[attr-defined]
    except ClauseFailure as failure:
        return failure.clause_id, str(failure), LOADER_TOUR_PROGRAM.format(
            name=machine.__name__)
    finally:
        m.teardown()
    return None
