"""`python -m cog.runtime.worker '<json settings>'`: the worker process entry point."""

import sys

from cog.runtime.worker.main import main

main(sys.argv[1:])
