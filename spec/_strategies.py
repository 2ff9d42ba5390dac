"""Keys and values over the whole documented domain and its edges, per target capabilities.

Targets without TYPED_KEYS get str keys only; without RICH_VALUES, bytes values only. Near-miss
key pairs (distinct keys that a sloppy encoding merges) and twin keys (equal keys built from
different objects, which a sloppy encoding splits) are explicit strategies so mutants are caught
every run, not by luck.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ._subject import RICH_VALUES, TYPED_KEYS

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_EDGE_TEXT = st.sampled_from(["", " ", "a", "é", "e\u0301", "\u2603\U0001f600", "\x00", "None",
                              "('a',)", "1", "a;b,c", "'\"\\n"])
_EDGE_INTS = st.sampled_from([0, 1, -1, -2, 2**31, 2**63, -(2**63) - 1, 10**40, 2**200])
_KEY_FLOATS = st.floats(allow_nan=False).map(lambda f: 0.0 if f == 0 else f)
_VALUE_FLOATS = st.one_of(st.floats(), st.sampled_from([-0.0, 0.0, float("inf"), 1e-320]))


def _copy_str(s: str) -> str:
    """An equal str that is a different object (pickle memoizes by identity)."""
    return "".join(list(s)) if len(s) > 1 else s


def str_keys() -> st.SearchStrategy[str]:
    return st.one_of(_EDGE_TEXT, _TEXT, st.text(max_size=3))


def _scalar_keys() -> st.SearchStrategy[Any]:
    return st.one_of(str_keys(), st.integers(), _EDGE_INTS, st.booleans(), st.none(), _KEY_FLOATS,
                     st.binary(max_size=8), st.sampled_from([b"", b"a", b"\x00\xff"]))


def typed_keys() -> st.SearchStrategy[Any]:
    return st.recursive(
        _scalar_keys(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3).map(tuple),
            st.frozensets(inner, max_size=3),
            inner.map(lambda x: (x, x)),  # one object twice
        ),
        max_leaves=6,
    )


def keys(caps: frozenset[str]) -> st.SearchStrategy[Any]:
    return typed_keys() if TYPED_KEYS in caps else str_keys()


def _hashable_values() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(), _EDGE_INTS, _VALUE_FLOATS, _TEXT,
                     st.binary(max_size=8))


def rich_values() -> st.SearchStrategy[Any]:
    nested = st.recursive(
        _hashable_values(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.lists(inner, max_size=3).map(tuple),
            st.dictionaries(_hashable_values(), inner, max_size=3),
            st.sets(_hashable_values(), max_size=3),
            st.frozensets(_hashable_values(), max_size=3).map(lambda f: (f, f)),
            inner.map(lambda x: (x, x)),
        ),
        max_leaves=8,
    )
    # None is excluded at top level only: get() returning None means "absent".
    return nested.filter(lambda v: v is not None)


def bytes_values() -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=32), st.sampled_from([b"", b"\x00", b"\x80\x03."]))


def values(caps: frozenset[str]) -> st.SearchStrategy[Any]:
    return rich_values() if RICH_VALUES in caps else bytes_values()


def mutable_values() -> st.SearchStrategy[Any]:
    """Values a caller can mutate in place (for the isolation clauses)."""
    inner = _hashable_values()
    return st.one_of(st.lists(inner, min_size=1, max_size=3),
                     st.dictionaries(st.text(max_size=3), inner, min_size=1, max_size=3),
                     st.sets(inner, min_size=1, max_size=3),
                     st.lists(inner, max_size=2).map(lambda x: (list(x), 1)))


def mutate(value: Any) -> bool:
    """Mutate ``value`` in place; False if it holds nothing mutable."""
    if isinstance(value, list):
        value.append("__mutated__")
        return True
    if isinstance(value, dict):
        value["__mutated__"] = 1
        return True
    if isinstance(value, set):
        value.add("__mutated__")
        return True
    if isinstance(value, tuple):
        return any(mutate(v) for v in value)
    return False


# -- fixed edges: every run meets them (the machines' tour) ---------------------------------
_SHARED = "shared-" + "x" * 8
EDGE_STR_KEYS: tuple[str, ...] = ("", " ", "\x00", "é☃\U0001f600", "a" * 300, "../up", "/",
                                  "a/b", "CON", "a;b,c")
EDGE_TYPED_KEYS: tuple[Any, ...] = EDGE_STR_KEYS + (
    b"", b"\x00" * 3, b"k" * 1000, 0, -1, 2**200, -(2**70), None, 1e300, float("inf"), -1.5,
    (), frozenset(), (("",),), (None, b""), (_SHARED, _SHARED), (frozenset({1, 9}), "f"),
    tuple(range(40)),
)
EDGE_BYTES_VALUES: tuple[bytes, ...] = (b"", b"\x00", b"\xff" * 3, b"\x80\x04.")
EDGE_RICH_VALUES: tuple[Any, ...] = EDGE_BYTES_VALUES + (
    "", 0, False, True, 0.0, -0.0, float("inf"), float("nan"), 2**200, -(2**70), "é☃\U0001f600",
    [], {}, (), set(), frozenset(), [[]], ((),), {"": None}, [None], (_SHARED, _SHARED),
    (frozenset({1}), [frozenset()]), {(1, 2): [b"x"], None: {0: ()}}, [1, [2, [3, [4, [5]]]]],
)


def edge_keys(caps: frozenset[str]) -> tuple[Any, ...]:
    return EDGE_TYPED_KEYS if TYPED_KEYS in caps else EDGE_STR_KEYS


def edge_values(caps: frozenset[str]) -> tuple[Any, ...]:
    return EDGE_RICH_VALUES if RICH_VALUES in caps else EDGE_BYTES_VALUES


# -- key pairs ------------------------------------------------------------------------------
#: Distinct (!=) keys that str(), hash() or a type-dropping encoding would merge.
DISTINCT_STR_PAIRS: tuple[tuple[str, str], ...] = (
    ("a", "a "), ("", " "), ("1", "01"), ("é", "e\u0301"), ("a", "A"), ("ab", "ba"),
    ("None", "none"), ("\x00", ""),
)
DISTINCT_TYPED_PAIRS: tuple[tuple[Any, Any], ...] = DISTINCT_STR_PAIRS + (
    (1, "1"), ("a", b"a"), ("", b""), (None, "None"), ((), ""), (frozenset(), ()),
    (frozenset({1}), (1,)), ((1, 2), (2, 1)), (("a", "b"), ("ab",)), (("a",), "('a',)"),
    ((("a", "b"),), ("a", ("b",))), (-1, -2), (2**64, 2**64 + 1), ((None,), None),
    (b"a", (97,)), (0.5, "0.5"), ((1, "1"), ("1", 1)),
)
#: Keys equal under == but of different types.
TYPED_NEAR_MISS: tuple[tuple[Any, Any], ...] = (
    (1, True), (1, 1.0), (True, 1.0), (0, False), (0, 0.0), ((1,), (True,)), ((0, 1), (0.0, 1)),
    (frozenset({1}), frozenset({True})), (("a", 1), ("a", 1.0)),
)


def distinct_pairs(caps: frozenset[str]) -> st.SearchStrategy[tuple[Any, Any]]:
    pairs = DISTINCT_TYPED_PAIRS if TYPED_KEYS in caps else DISTINCT_STR_PAIRS
    return st.sampled_from(pairs).flatmap(lambda p: st.sampled_from([p, (p[1], p[0])]))


def typed_near_miss() -> st.SearchStrategy[tuple[Any, Any]]:
    return st.sampled_from(TYPED_NEAR_MISS).flatmap(lambda p: st.sampled_from([p, (p[1], p[0])]))


# -- twin keys: equal under == with the same types recursively, yet built differently. A cache
# that names entries by representation splits them. NaNs are left out on purpose: they are not
# equal under ==, so torch's dict-backed InMemoryCache rightly treats two NaN objects as two keys
# (a MUST clause states what torch documents); the reference's "every NaN is one key" is its own
# strengthening, tested with the reference (tests/test_reference_keys.py).
def _copy_bytes(b: bytes) -> bytes:
    """Equal bytes that are a different object, built by slicing a longer buffer."""
    return (b"#" + b)[1:] if len(b) > 1 else b


def base_twins(text: str, number: int) -> list[tuple[str, Any, Any]]:
    """``(how they differ, a, b)``: one pair per way of building equal keys differently.

    ``text`` (two or more characters) and ``number`` only vary the data; every kind is there.
    """
    big = 2**70 + number
    same_big = int(str(big))
    ratio = number / 7 + 0.1
    text_copy = _copy_str(text)
    pair = (text, number)
    return [
        ("-0.0 and 0.0", 0.0, -0.0),
        ("a float computed and parsed", ratio, float(repr(ratio))),
        ("a big int computed and parsed", big, same_big),
        ("a big int computed and decoded from bytes", big,
         int.from_bytes(big.to_bytes(10, "big"), "big")),
        ("a str and its copy joined from characters", text, text_copy),
        ("a str and its copy decoded from bytes", text, text.encode().decode()),
        ("bytes encoded and sliced from a buffer", text.encode(), _copy_bytes(text.encode())),
        ("bytes and bytes rebuilt from a bytearray", text.encode(),
         bytes(bytearray(text.encode()))),
        ("a tuple sharing one str and one with a copy", (text, text), (text, text_copy)),
        ("a tuple sharing one tuple and one with a copy", (pair, pair), (pair, (text_copy, number))),
        ("nested tuples sharing a str and with a copy", ((text,), (text,)), ((text,), (text_copy,))),
        ("a frozenset built in two orders", frozenset([1, 9, text]), frozenset([text, 9, 1])),
        ("a frozenset with colliding hashes built in two orders (hash(-1) == hash(-2))",
         frozenset([-1, -2, text]), frozenset([text, -2, -1])),
        ("a frozenset of twins built in two orders", frozenset([(0.0, text), big]),
         frozenset([same_big, (-0.0, text_copy)])),
    ]


def twin_pairs(text: str, number: int) -> list[tuple[str, Any, Any]]:
    """Every base twin alone, inside a tuple and inside a frozenset."""
    out: list[tuple[str, Any, Any]] = []
    for how, a, b in base_twins(text, number):
        out.append((how, a, b))
        out.append((f"{how}, inside a tuple", (a, text), (b, _copy_str(text))))
        out.append((f"{how}, inside a frozenset", frozenset([a, "member"]),
                    frozenset(["member", b])))
    return out


TWIN_KINDS = len(twin_pairs("ab", 0))


def twin_keys() -> st.SearchStrategy[tuple[str, Any, Any]]:
    """``(how they differ, a, b)``: equal keys (same types, the key rules' equality) built
    differently."""
    return st.tuples(st.text(min_size=2, max_size=6), st.integers(0, 1000),
                     st.integers(0, TWIN_KINDS - 1)) \
        .map(lambda drawn: twin_pairs(drawn[0], drawn[1])[drawn[2]])


# -- values that fail to serialize ----------------------------------------------------------
class Unpicklable:
    """An object whose pickling raises partway through a container's serialization."""

    def __reduce__(self) -> Any:
        raise RuntimeError("cachespec: this object refuses to be pickled")

    def __repr__(self) -> str:
        return "Unpicklable()"


def failing_value(size: int = 1 << 16) -> list[Any]:
    """A list whose serialization fails after a large prefix was written."""
    return [b"x" * size, "prefix", Unpicklable()]


#: A module-level lambda: pickling it fails with PicklingError (attribute lookup fails), the
#: error torch's OnDiskCache documents and converts; a local lambda would raise AttributeError.
UNPICKLABLE_LAMBDA = lambda: None  # noqa: E731
