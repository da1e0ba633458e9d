"""The `cog` command line: build, run and serve models, in containers or with `--local`."""
