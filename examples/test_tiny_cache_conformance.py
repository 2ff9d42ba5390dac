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
    # Known deviations are listed with their reason: reported as xfail, and the test fails
    # once the clause unexpectedly passes (so the list cannot go stale).
    expected_deviations = {
        "CRASH-NO-STRAY-TEMP": "a writer killed between writing its temp file and linking it "
                               "leaves the temp behind; BlobStore never sweeps them",
        "SAFE-PRIVATE-STORAGE": "BlobStore uses whatever directory it is given, whoever owns "
                                "it (checked only when the checks run as root)",
    }

    @pytest.fixture
    def cachespec_target(self):
        from kvstore_adapter import BlobStoreAdapter

        return BlobStoreAdapter  # ...or an Adapter class, returned by a fixture
