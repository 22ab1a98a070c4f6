#!/usr/bin/env bash
# The project's data validation, in the project's directory, on the data the pull brought.
set -euo pipefail
cd "$PROJECT_DIR"
echo "validating the data: $VALIDATE_COMMAND"
bash -euo pipefail -c "$VALIDATE_COMMAND"
