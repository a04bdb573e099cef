"""The bitmap pipeline's exception, in its own module so every step's module can raise it.

Import it from :mod:`cloud.bitmap`, which re-exports it.
"""

from cloud.errors import CloudError


class BitmapError(CloudError, ValueError):
    """An image could not be turned into a device bitmap, or a parameter was invalid.

    The message says which parameter or what about the image was wrong; nothing was produced.
    """
