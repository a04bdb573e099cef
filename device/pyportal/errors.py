"""The app's exceptions.

MicroPython cannot combine two built-in exception bases in one class, so these derive from
:class:`PortalError` alone; the main loop catches them, and everything else, by name.
"""


class PortalError(Exception):
    """Base of every error the app raises itself."""


class SettingError(PortalError):
    """A setting in ``settings.toml`` is missing or invalid.

    :param name: the setting.
    :param problem: what is wrong, in a few words.
    """

    def __init__(self, name, problem):
        super().__init__("%s %s: set it in settings.toml" % (name, problem))
        self.name = name
        self.problem = problem


class FetchError(PortalError):
    """The API answered, but not with what the app needs (status, JSON, length)."""


class BadBitmap(PortalError):
    """A downloaded image is not a BMP this board can show."""
