"""Test-suite configuration.

The stress plugin (``cachespec.stress._xdist``: the ``stress_slice`` fixture, ``--soak``, the
merged end-of-session check) and the conformance plugin come with the installed package as
``pytest11`` entry points, exactly as users get them.
"""
