"""``sdcardio.SDCard``: answers only with the ESP32 deselected (they share the SPI bus)."""

import digitalio


class SDCard:
    def __init__(self, spi, cs, baudrate=8000000):
        if digitalio.driven.get("ESP_CS") is not True:
            raise OSError(19)  # no answer to the card's init: ENODEV
        self.cs = cs
