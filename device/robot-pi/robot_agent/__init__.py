"""Telepresence robot agent: MQTT drive commands to gpiozero motors, as a systemd service."""

__version__ = "0.1.0"
