"""``__future__``: built into the board's firmware (shared-bindings/__future__), not into the
core; ESP32SPI 8.0 and later import ``annotations`` from it."""

annotations = True
