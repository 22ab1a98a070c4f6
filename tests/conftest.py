"""Make tests/support importable from every test tier."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
