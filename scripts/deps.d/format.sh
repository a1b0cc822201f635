# Formats: every JSON output is validated against docs/faststack.schema.json.
check_pkgs+=(python3-jsonschema)
