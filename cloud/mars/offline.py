"""The offline sample: what the local stack shows when no NASA data could ever be fetched.

It is labelled everywhere a person looks: the image says OFFLINE SAMPLE, the credit says it is
generated, and the payload carries ``"offline": true``. Only the local stack turns it on
(``MARS_OFFLINE_SAMPLE=1``); in AWS no data means 503.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter

from cloud.mars.models import Photo, Weather

CREDIT = "Offline sample: generated image and sample weather, not NASA data"

PHOTO = Photo(id="offline:sample-v1", rover="Offline sample", camera="GENERATED", sol=0,
              url="offline:", taken_utc=None, source_url=None, credit=CREDIT, colour=True,
              width=1200, height=900)

WEATHER = Weather(source="offline sample", rover="Curiosity", sol=0, earth_date=None,
                  season="Month 12", ls=341, min_temp_c=-71, max_temp_c=-5, pressure_pa=777,
                  opacity="Sunny", sunrise="06:46", sunset="18:51")


def image(width: int = 1200, height: int = 900, seed: int = 4995) -> bytes:
    """A Mars-like landscape (butterscotch sky, rust ground, a ridge), labelled, as PNG."""
    rng = random.Random(seed)
    picture = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(picture)
    horizon = int(height * 0.45)
    for y in range(horizon):  # sky: pale at the horizon, darker overhead
        t = y / horizon
        draw.line([(0, y), (width, y)], fill=(int(150 + 60 * t), int(110 + 50 * t),
                                             int(80 + 30 * t)))
    for y in range(horizon, height):
        t = (y - horizon) / (height - horizon)
        draw.line([(0, y), (width, y)], fill=(int(150 - 40 * t), int(80 - 30 * t),
                                             int(50 - 20 * t)))
    ridge = [(0, horizon)]
    for x in range(0, width + 40, 40):
        ridge.append((x, horizon - int(abs(rng.gauss(0, 1)) * height * 0.08)))
    ridge.append((width, horizon))
    draw.polygon(ridge, fill=(120, 70, 45))
    for _ in range(140):  # rocks, bigger towards the camera
        y = rng.randint(horizon, height)
        r = 2 + int(20 * (y - horizon) / (height - horizon))
        x = rng.randint(0, width)
        shade = rng.randint(50, 95)
        draw.ellipse([x - r, y - r // 2, x + r, y + r // 2], fill=(shade + 30, shade, shade - 20))
    picture = picture.filter(ImageFilter.SMOOTH)
    draw = ImageDraw.Draw(picture)
    label = "OFFLINE SAMPLE - NOT NASA DATA"
    box = draw.textbbox((0, 0), label, font_size=max(12, width // 22))
    x, y = int((width - (box[2] - box[0])) // 2), height // 12
    draw.rectangle([x - 12, y - 8, x + box[2] - box[0] + 12, y + box[3] - box[1] + 16],
                   fill=(0, 0, 0))
    draw.text((x, y), label, fill=(255, 255, 255), font_size=max(12, width // 22))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()
