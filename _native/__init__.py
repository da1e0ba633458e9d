"""The compiled hot path. Each Cython module here has a pure-Python twin in `pure/`;
`select.native(name)` picks one (COG_NATIVE=0 forces the twins)."""
