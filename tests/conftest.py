"""Test-suite configuration.

The stress plugin (``cachespec.stress._xdist``: the ``stress_slice`` fixture, ``--soak``, the
merged end-of-session check) is loaded here unless the installed package already registers it
as a ``pytest11`` entry point (registering it twice would be an error).
"""

from importlib.metadata import entry_points

if not any(ep.value.split(":")[0] == "cachespec.stress._xdist"
           for ep in entry_points(group="pytest11")):
    pytest_plugins = ["cachespec.stress._xdist"]
