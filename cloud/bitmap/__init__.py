"""Device bitmaps: any photo in, a BMP the PyPortal's ``displayio.OnDiskBitmap`` shows.

Not Mars-specific: the Mars API (:mod:`cloud.mars`) and the converter on the command line
(:mod:`tools.bitmap`) both use it. The steps live in :mod:`~cloud.bitmap.pipeline`.
"""

from cloud.bitmap.errors import BitmapError
from cloud.bitmap.fit import FITS
from cloud.bitmap.pipeline import DEPTHS, DEPTHS_TEXT, MAX_SIDE, MIN_SIDE, convert, panel_view

__all__ = ["BitmapError", "DEPTHS", "DEPTHS_TEXT", "FITS", "MAX_SIDE", "MIN_SIDE", "convert",
           "panel_view"]
