"""Deploy the backend to AWS with one command and provision the devices.

``python -m tools.deploy deploy --stack mars --region eu-west-1 --robot sts-pi`` builds the
Lambda artifacts for arm64, packages ``cloud/template.yaml``, runs a CloudFormation change set,
uploads the web page with its ``config.json``, and writes the PyPortal's ``settings.toml`` and
each robot's certificates and ``config.toml``. See ``tools/deploy/README.md``.
"""
