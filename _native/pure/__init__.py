"""Pure-Python twins of the compiled modules: same names, same behaviour, same tests."""
