"""``busio.SPI``: nothing travels over it here (the ESP32 stand-in answers directly)."""


class SPI:
    def __init__(self, clock, MOSI=None, MISO=None):  # noqa: N803 - the firmware's names
        pass
