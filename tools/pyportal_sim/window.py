"""An optional window showing the simulated screen; mouse clicks become touches. Needs pygame.

The window stands in for the PyPortal's resistive touchscreen: the app reads
``board.TOUCH.touch_point`` (the simulator puts this window there), exactly as it reads an
``adafruit_touchscreen.Touchscreen`` on the board: ``(x, y, pressure)`` while pressed, else
``None``. Closing the window ends the simulation like the end of ``--frames``.
"""

from __future__ import annotations

import os

from tools.pyportal_sim.runner import StopSimulation

LEFT = 1  # pygame's number for the left mouse button
PRESSURE = 1  # what a touch reports as z; the app only looks at x and y


class Window:
    """A pygame window of the screen's size; also the simulated touchscreen.

    :param pygame: the pygame module, display initialised.
    :param size: ``(width, height)`` of the simulated screen, in pixels.
    """

    def __init__(self, pygame, size: tuple[int, int]) -> None:
        self._pygame = pygame
        self.surface = pygame.display.set_mode(size)
        pygame.display.set_caption("PyPortal simulator")
        self._down: tuple[int, ...] | None = None  # where the button is held
        self._tap: tuple[int, ...] | None = None  # a click the app has not read yet

    @property
    def touch_point(self):
        """``(x, y, pressure)`` of a touch, or ``None`` (``adafruit_touchscreen``'s interface).

        A click shorter than the app's polling interval still counts: it is reported once,
        then the button's state.
        """
        self.poll()
        if self._tap is not None:
            point, self._tap = self._tap, None
            return point
        return self._down

    def show(self, image) -> None:
        """Show a PIL RGB image of the screen, pixel for pixel."""
        frame = self._pygame.image.frombytes(image.tobytes(), image.size, "RGB")
        self.surface.blit(frame, (0, 0))
        self._pygame.display.flip()

    def poll(self) -> None:
        """Handle the window's events.

        :raises StopSimulation: when the window is closed.
        """
        pg = self._pygame
        for event in pg.event.get():
            if event.type == pg.MOUSEBUTTONDOWN and event.button == LEFT:
                self._down = self._tap = (*event.pos, PRESSURE)
            elif event.type == pg.MOUSEMOTION and self._down is not None:
                self._down = (*event.pos, PRESSURE)
            elif event.type == pg.MOUSEBUTTONUP and event.button == LEFT:
                self._down = None
            elif event.type == pg.QUIT:
                print("simulator: window closed", flush=True)
                raise StopSimulation

    def close(self) -> None:
        self._pygame.display.quit()


def open_window(size: tuple[int, int]) -> Window | None:
    """A window, or ``None`` (with a one-line note) when pygame or a display is missing."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # keep the log one line per event
    try:
        import pygame
    except ImportError:
        print("simulator: no window: pygame is not installed (pip install pygame); "
              "saving PNGs only", flush=True)
        return None
    try:
        pygame.display.init()
        return Window(pygame, size)
    except pygame.error as e:
        print(f"simulator: no window ({e}); saving PNGs only", flush=True)
        return None
