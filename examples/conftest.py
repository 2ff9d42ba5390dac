# Lets `pytest` and the check workers import the example modules from this directory.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
