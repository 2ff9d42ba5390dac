"""The conformance suite inside your own test file: one test per clause.

    cd examples && pytest test_tiny_cache_conformance.py -q
"""

import pytest

from cachespec.conformance.testing import CacheConformanceTests


class TestTinyCache(CacheConformanceTests):
    target = "tiny_cache:TinyCache"  # a torch-shaped class by name...
    profile = "quick"


class TestBlobStore(CacheConformanceTests):
    profile = "quick"

    @pytest.fixture
    def cachespec_target(self):
        from kvstore_adapter import BlobStoreAdapter

        return BlobStoreAdapter  # ...or an Adapter class, returned by a fixture
