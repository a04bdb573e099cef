"""What the cloud and the robot agent agree on, in one place both import.

- :mod:`contracts.command`: the drive command schema (``command.schema.json``), its
  defaults and aliases, and :func:`~contracts.command.check` with refusals in words
  (:mod:`contracts.refusals`);
- :mod:`contracts.safejson`: the one guard for JSON from strangers (size and depth first);
- :mod:`contracts.topics`: the MQTT topic names.

Standard library and fastjsonschema only: it ships in the Lambda code package, in the Pi
agent's install and in the development environment alike.
"""
