"""``board`` of a PyPortal for the tests on the core: the pins the app looks for, and
``DISPLAY`` (set by ``harness.setup`` to the screen size of the run)."""

board_id = "pyportal"
DISPLAY = None
ESP_CS = "ESP_CS"
ESP_BUSY = "ESP_BUSY"
ESP_RESET = "ESP_RESET"
SD_CS = "SD_CS"


def SPI():  # the board's name
    return "SPI"
