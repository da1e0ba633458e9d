"""The worker process: runs user code (setup once, then predictions) on behalf of the front."""
