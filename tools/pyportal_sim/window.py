"""An optional window showing the simulated screen; clicks become touches. Needs pygame."""

from __future__ import annotations


class Window:
    """A pygame window; also the simulated touchscreen (``touch_point``)."""

    def __init__(self, pygame, size: tuple[int, int]) -> None:
        self._pygame = pygame
        self._surface = pygame.display.set_mode(size)
        pygame.display.set_caption("PyPortal simulator")
        self.touch_point = None

    def show(self, image) -> None:
        frame = self._pygame.image.frombytes(image.tobytes(), image.size, "RGB")
        self._surface.blit(frame, (0, 0))
        self._pygame.display.flip()

    def poll(self) -> None:
        for event in self._pygame.event.get():
            if event.type == self._pygame.MOUSEBUTTONDOWN:
                self.touch_point = (*event.pos, 1)
            elif event.type == self._pygame.MOUSEBUTTONUP:
                self.touch_point = None
            elif event.type == self._pygame.QUIT:
                raise KeyboardInterrupt

    def close(self) -> None:
        self._pygame.quit()


def open_window(size: tuple[int, int]) -> Window | None:
    """A window, or ``None`` (with a note) when pygame or a display is missing."""
    try:
        import pygame
    except ImportError:
        print("simulator: no window (pip install pygame); saving PNGs only", flush=True)
        return None
    try:
        pygame.display.init()
        return Window(pygame, size)
    except pygame.error as e:
        print(f"simulator: no window ({e}); saving PNGs only", flush=True)
        return None
