"""``digitalio.DigitalInOut``: remembers how a pin is driven (the SD card needs the ESP32's
chip select high first, as on the board; see ``sdcardio``)."""

driven = {}


class DigitalInOut:
    def __init__(self, pin):
        self.pin = pin

    def switch_to_output(self, value=False, drive_mode=None):
        driven[self.pin] = bool(value)

    def switch_to_input(self, pull=None):
        driven.pop(self.pin, None)

    @property
    def value(self):
        return driven.get(self.pin, False)

    @value.setter
    def value(self, v):
        if self.pin in driven:
            driven[self.pin] = bool(v)

    def deinit(self):
        driven.pop(self.pin, None)
