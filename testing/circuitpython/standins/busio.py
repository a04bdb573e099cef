"""``busio.SPI``: nothing travels over it here (the ESP32 stand-in answers directly)."""


class SPI:
    def __init__(self, clock, MOSI=None, MISO=None):  # the firmware's names
        pass
