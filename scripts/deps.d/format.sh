# Formats: every JSON output is validated against docs/faststack.schema.json.
check_pkgs+=(python3-jsonschema)
# make check-deb: the Debian packages, built with debhelper.
check_pkgs+=(debhelper dpkg-dev)
