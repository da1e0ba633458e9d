"""`python -m cog.server.http`: serve the model named by COG_PREDICT_TYPE_STUB (or ./cog.yaml)."""

from __future__ import annotations

import sys

from cog.runtime.serve import main

if __name__ == "__main__":
    sys.exit(main())
